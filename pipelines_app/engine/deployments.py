"""Putting model versions into environments: deploys from pipelines and promotions from the registry.

A protected environment (approver groups and a minimum number of approvals)
never takes a version without an approval that meets its rules (DESIGN.md §8):
a promotion opens an approval request, and the deploy happens when the
request is approved (``engine.approvals.on_decided``).
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from pipelines_app.models import ApprovalRequest, ApprovalStatus, AuditEvent, Deployment, DeploymentEvent
from pipelines_app.models.audit import retry_on_deadlock


def approval_satisfies(request, environment):
    """An approved request counts for ``environment`` when its groups and count meet the environment's rules."""
    return (
        request.status == ApprovalStatus.APPROVED
        and request.min_approvals >= environment.min_approvals
        and set(environment.approver_groups) <= set(request.approver_groups)
    )


def deploy_version(environment, version, actor, strategy="replace", canary_percent=0, run=None):
    """Make ``version`` serve in ``environment`` (replace, canary or shadow) and record it."""
    with transaction.atomic():
        deployment, _ = Deployment.objects.select_for_update().get_or_create(
            environment=environment, model=version.model
        )
        previous = deployment.primary_version
        if previous is None:
            # Nothing serves yet: a canary or shadow would have no primary to share traffic with.
            strategy = "replace"
        if strategy == "canary":
            deployment.canary_version, deployment.canary_percent = version, canary_percent
        elif strategy == "shadow":
            deployment.shadow_version = version
        else:
            deployment.primary_version = version
            deployment.canary_version, deployment.canary_percent = None, 0
        deployment.updated_at = timezone.now()
        deployment.save()
        name = actor if isinstance(actor, str) else actor.get_username()
        DeploymentEvent.objects.create(
            deployment=deployment,
            action=strategy if strategy != "replace" else "deploy",
            version=version,
            previous_version=previous,
            actor_name=name,
            run=run,
        )
        AuditEvent.objects.record(
            actor,
            "deployment.deployed",
            deployment,
            {
                "version": version.version,
                "strategy": strategy,
                "previous": previous.version if previous else None,
                "run": run.pk if run else None,
            },
        )
    return deployment


def open_deploy_request(environment, version, user, message, run=None, step_run=None):
    """An approval request for putting ``version`` in ``environment``, with the environment's rules and timeout.

    Returns ``(request, created)``; an identical pending request is reused, so that asking twice opens one."""
    from pipelines_app.notifications import notify_reviewers

    lookup = (
        {"step_run": step_run}
        if step_run
        else {
            "step_run": None,
            "model_version": version,
            "environment": environment.name,
            "status": ApprovalStatus.PENDING,
        }
    )
    request, created = ApprovalRequest.objects.get_or_create(
        **lookup,
        defaults={
            "run": run,
            "model_version": version,
            "environment": environment.name,
            "approver_groups": list(environment.approver_groups),
            "min_approvals": environment.min_approvals,
            "requested_by": user,
            "deadline": timezone.now() + timedelta(hours=environment.approval_timeout_hours),
            "on_timeout": environment.on_timeout,
            "message": message,
        },
    )
    if created:
        AuditEvent.objects.record(
            user or "system",
            "approval.requested",
            request,
            {
                "model": version.model.name,
                "version": version.version,
                "environment": environment.name,
                "run": run.pk if run else None,
            },
        )
        transaction.on_commit(lambda: notify_reviewers(request))
    return request, created


class PromotionRefused(Exception):
    """A promotion that cannot go ahead (e.g. the version has no artifact); the message says why."""


@retry_on_deadlock
def promote_model_version(version, environment, user):
    """Promote a registry version to an environment: deploy at once where the environment is open, else open an
    approval request (the deploy follows its approval). Returns ``("deployed", deployment)`` or
    ``("pending", request)``."""
    if not version.artifact or not version.sha256:
        raise PromotionRefused(f"{version} has no stored model artifact to deploy.")
    with transaction.atomic():
        current = Deployment.objects.filter(environment=environment, model=version.model).first()
        if current and current.primary_version_id == version.pk:
            raise PromotionRefused(f"{version} already serves as primary in {environment.name}.")
        if not environment.protected:
            return "deployed", deploy_version(environment, version, user)
        request, _ = open_deploy_request(
            environment, version, user, f"Promote {version.model.name} v{version.version} to {environment.name}"
        )
        return "pending", request
