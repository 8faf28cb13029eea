"""Putting model versions into environments: deploys from pipelines and promotions from the registry.

A protected environment (approver groups and a minimum number of approvals)
never takes a version without an approval that meets its rules (DESIGN.md §8):
a promotion opens an approval request, and the deploy happens when the
request is approved (``engine.approvals.on_decided``, the reaction to its event).
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from pipelines_app.engine.outbox import emit
from pipelines_app.models import (
    AlertRule,
    ApprovalRequest,
    ApprovalStatus,
    AuditEvent,
    CanaryAnalysis,
    Deployment,
    DeploymentEvent,
    Event,
)
from pipelines_app.models.audit import retry_on_deadlock
from pipelines_app.models.protection import Rules


def deploy_version(environment, version, actor, strategy="replace", canary_percent=0, run=None, analysis=None):
    """Make ``version`` serve in ``environment`` (replace, canary or shadow) and record it. ``analysis`` (a
    ``spec.steps.CanaryAnalysis``) starts judging a canary automatically."""
    with transaction.atomic():
        deployment, created = Deployment.objects.select_for_update().get_or_create(
            environment=environment, model=version.model
        )
        if created:
            AlertRule.objects.ensure_defaults(deployment)
        previous = deployment.primary_version
        requested, note = strategy, ""
        if previous is None and strategy != "replace":
            # Nothing serves yet: a canary or shadow would have no primary to share traffic with. The deployment
            # page shows why from the audit payload's note.
            strategy = "replace"
            asked = f"a {canary_percent}% canary" if requested == "canary" else f"a {requested}"
            note = (
                f"Asked for {asked}, but this was the first deploy here: there was no primary to compare with, "
                f"so v{version.version} went out whole."
            )
            if analysis is not None:
                note += " Its canary analysis had nothing to compare either and did not start."
        if strategy == "canary":
            deployment.canary_version, deployment.canary_percent = version, canary_percent
        elif strategy == "shadow":
            deployment.shadow_version = version
        else:
            deployment.primary_version = version
            deployment.canary_version, deployment.canary_percent = None, 0
        deployment.updated_at = timezone.now()
        deployment.save()
        if strategy != "shadow":
            _end_analyses(deployment, f"v{version.version} was deployed as {strategy} before it was judged")
        name = actor if isinstance(actor, str) else actor.get_username()
        if strategy == "canary" and analysis is not None:
            start_analysis(deployment, analysis, name, run=run)
        DeploymentEvent.objects.create(
            deployment=deployment,
            action=strategy if strategy != "replace" else "deploy",
            version=version,
            previous_version=previous,
            actor_name=name,
            run=run,
        )
        payload = {
            "version": version.version,
            "strategy": strategy,
            "previous": previous.version if previous else None,
            "run": run.pk if run else None,
        }
        if note:
            payload.update(requested={"strategy": requested, "canary_percent": canary_percent}, note=note)
        AuditEvent.objects.record(actor, "deployment.deployed", deployment, payload)
    return deployment


def open_deploy_request(environment, version, user, message, run=None, step_run=None):
    """An approval request for putting ``version`` in ``environment``, with the environment's rules and timeout.

    Returns ``(request, created)``; an identical pending request is reused, so that asking twice opens one."""
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
    rules = Rules.of(environment)
    request, created = ApprovalRequest.objects.get_or_create(
        **lookup,
        defaults={
            "run": run,
            "model_version": version,
            "environment": environment.name,
            "approver_groups": list(rules.groups),
            "min_approvals": rules.min_approvals,
            "requested_by": user,
            "deadline": timezone.now() + timedelta(hours=environment.approval_timeout_hours),
            "on_timeout": rules.on_timeout(environment.on_timeout),
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
        emit(Event.Kind.APPROVAL_REQUESTED, approval=request, run=run)
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


class DeploymentRefused(Exception):
    """A deployment change that cannot be made (nothing to roll back to, no canary); the message says why."""


# Actions that change the primary version, and what each does when the history is replayed.
PRIMARY_ACTIONS = ("deploy", "promote_canary", "rollback")


def state_at(deployment, at=None):
    """Primary, canary and shadow versions of ``deployment`` at time ``at`` (now when None), replayed from its
    history: the answer to "which version served in production at time T"."""
    state = {"primary": None, "canary": None, "shadow": None}
    events = deployment.events.select_related("version").order_by("created_at", "id")
    if at is not None:
        events = events.filter(created_at__lte=at)
    for event in events:
        if event.action in PRIMARY_ACTIONS:
            state["primary"], state["canary"] = event.version, None
        elif event.action == "canary":
            state["canary"] = event.version
        elif event.action == "abort_canary":
            state["canary"] = None
        elif event.action == "shadow":
            state["shadow"] = event.version
        elif event.action == "stop_shadow":
            state["shadow"] = None
    return state


def rollback_target(deployment):
    """The primary to go back to: the one before the current, skipping versions already rolled back from."""
    skip = {deployment.primary_version_id}
    for event in deployment.events.filter(action__in=PRIMARY_ACTIONS).order_by("-created_at", "-id"):
        if event.action == "rollback":
            skip.add(event.previous_version_id)
        if event.previous_version_id and event.previous_version_id not in skip:
            return event.previous_version
    return None


def start_analysis(deployment, analysis, actor, run=None):
    """Start judging ``deployment``'s canary against its primary (``analysis``: a ``spec.steps.CanaryAnalysis``);
    call it inside the transaction that holds the deployment's row lock. ``monitoring.canary.judge`` does the
    rest."""
    if deployment.canary_version_id is None or deployment.primary_version_id is None:
        raise DeploymentRefused(f"{deployment} has no canary to analyse.")
    if CanaryAnalysis.objects.running().filter(deployment=deployment).exists():
        raise DeploymentRefused(f"An analysis of {deployment}'s canary is already running.")
    name = actor if isinstance(actor, str) else actor.get_username()
    started = CanaryAnalysis.objects.create(
        deployment=deployment,
        canary_version_id=deployment.canary_version_id,
        primary_version_id=deployment.primary_version_id,
        min_requests=analysis.min_requests,
        max_duration_s=analysis.max_duration_seconds,
        checks=[check.model_dump() for check in analysis.checks],
        on_pass=analysis.on_pass,
        on_fail=analysis.on_fail,
        started_by=name,
        run=run,
    )
    AuditEvent.objects.record(
        actor,
        "deployment.analysis_started",
        deployment,
        {
            "analysis": started.pk,
            "canary": deployment.canary_version.version,
            "checks": [check.text for check in analysis.checks],
            "min_requests": analysis.min_requests,
            "max_duration": analysis.max_duration,
            "on_pass": analysis.on_pass,
            "on_fail": analysis.on_fail,
        },
    )
    return started


@retry_on_deadlock
def analyse_canary(deployment, analysis, actor):
    """Start an analysis of the canary now serving (one made from the registry, say); DeploymentRefused when
    there is no canary or one is already being judged."""
    with transaction.atomic():
        deployment = Deployment.objects.select_for_update().get(pk=deployment.pk)
        return start_analysis(deployment, analysis, actor)


def _end_analyses(deployment, reason):
    """A person (or a new deploy) changed the canary before its analysis judged it: the analysis stops."""
    CanaryAnalysis.objects.running().filter(deployment=deployment).update(
        status=CanaryAnalysis.Status.CANCELLED, reason=reason[:500], decided_at=timezone.now()
    )


def _change(deployment, actor, action, version, previous, verb, payload, run=None):
    name = actor if isinstance(actor, str) else actor.get_username()
    if action != "stop_shadow":
        _end_analyses(deployment, f"{action.replace('_', ' ')} by {name}")
    deployment.updated_at = timezone.now()
    deployment.save()
    DeploymentEvent.objects.create(
        deployment=deployment, action=action, version=version, previous_version=previous, actor_name=name, run=run
    )
    AuditEvent.objects.record(actor, verb, deployment, payload)
    return deployment


@retry_on_deadlock
def rollback(deployment, actor, run=None):
    """Back to the previous primary (any canary is dropped with it)."""
    with transaction.atomic():
        deployment = Deployment.objects.select_for_update().get(pk=deployment.pk)
        target = rollback_target(deployment)
        if target is None:
            raise DeploymentRefused(f"{deployment} has no earlier version to roll back to.")
        current = deployment.primary_version
        deployment.primary_version, deployment.canary_version, deployment.canary_percent = target, None, 0
        return _change(
            deployment,
            actor,
            "rollback",
            target,
            current,
            "deployment.rolled_back",
            {"from": current.version if current else None, "to": target.version},
            run,
        )


@retry_on_deadlock
def promote_canary(deployment, actor):
    """The canary becomes the primary and takes all traffic."""
    with transaction.atomic():
        deployment = Deployment.objects.select_for_update().get(pk=deployment.pk)
        canary, current = deployment.canary_version, deployment.primary_version
        if canary is None:
            raise DeploymentRefused(f"{deployment} has no canary to promote.")
        deployment.primary_version, deployment.canary_version, deployment.canary_percent = canary, None, 0
        return _change(
            deployment,
            actor,
            "promote_canary",
            canary,
            current,
            "deployment.canary_promoted",
            {"from": current.version if current else None, "to": canary.version},
        )


@retry_on_deadlock
def abort_canary(deployment, actor):
    """Drop the canary: the primary takes all traffic again."""
    with transaction.atomic():
        deployment = Deployment.objects.select_for_update().get(pk=deployment.pk)
        canary = deployment.canary_version
        if canary is None:
            raise DeploymentRefused(f"{deployment} has no canary to abort.")
        deployment.canary_version, deployment.canary_percent = None, 0
        return _change(
            deployment,
            actor,
            "abort_canary",
            canary,
            deployment.primary_version,
            "deployment.canary_aborted",
            {"canary": canary.version},
        )


@retry_on_deadlock
def stop_shadow(deployment, actor):
    """Stop scoring a copy of the traffic with the shadow version."""
    with transaction.atomic():
        deployment = Deployment.objects.select_for_update().get(pk=deployment.pk)
        shadow = deployment.shadow_version
        if shadow is None:
            raise DeploymentRefused(f"{deployment} has no shadow version.")
        deployment.shadow_version = None
        return _change(
            deployment, actor, "stop_shadow", shadow, None, "deployment.shadow_stopped", {"shadow": shadow.version}
        )
