from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines_app.forms import AuditFilterForm
from pipelines_app.models import AuditEvent
from pipelines_app.permissions import Role, role_of


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField(allow_null=True)


class MeView(APIView):
    """Who the caller is and which role they have."""

    serializer_class = MeSerializer

    def get(self, request):
        role = role_of(request.user)
        return Response(
            MeSerializer({"username": request.user.get_username(), "role": role.label if role else None}).data
        )


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor_name",
            "verb",
            "object_type",
            "object_id",
            "object_repr",
            "payload",
            "prev_hash",
            "hash",
        ]


class AuditEventList(generics.ListAPIView):
    """The audit log, newest first; the same filters as the /audit/ page."""

    serializer_class = AuditEventSerializer
    required_roles = {"read": Role.REVIEWER}

    def get_queryset(self):
        form = AuditFilterForm(self.request.query_params or None)
        events = AuditEvent.objects.all()
        if form.is_bound:
            if not form.is_valid():
                raise serializers.ValidationError(form.errors)
            events = form.filter(events)
        return events
