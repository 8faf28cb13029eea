"""The decision lookup: one scored row by its request id, with its reasons (``serving.decisions``)."""

from django.shortcuts import render

from pipelines_app.permissions import Role, role_required
from pipelines_app.serving.decisions import decision

MAX_ID = 80


@role_required(Role.VIEWER)
def decision_lookup(request):
    asked = request.GET.get("id", "").strip()
    found, error, status = None, None, 200
    if asked:
        if len(asked) > MAX_ID:
            error, status = f"A request id has at most {MAX_ID} characters.", 400
        else:
            found = decision(asked)
            if found is None:
                error, status = "No answered request has this id (a refused request has no decision).", 404
    inputs, reasons = [], []
    if found:
        explanation = found["explanation"] or {}
        contributions = explanation.get("contributions", {})
        inputs = [
            {"name": name, "value": value, "contribution": contributions.get(name)}
            for name, value in found["inputs"].items()
        ]
        names = explanation.get("reasons") or []
        texts = explanation.get("reason_texts") or names  # logged before reasons had words
        reasons = [{"column": name, "text": text} for name, text in zip(names, texts, strict=False)]
    context = {"asked": asked[:MAX_ID], "found": found, "error": error, "inputs": inputs, "reasons": reasons}
    return render(request, "serving/decision.html", context, status=status)
