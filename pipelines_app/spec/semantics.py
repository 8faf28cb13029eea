"""Checks that need the whole file or the database: unique names, step order, known environments, groups
and datasets. They read the plain data (with positions) rather than the models, so they still report when
other parts of the file are invalid."""

from .context import SpecContext
from .destinations import destination_problem
from .durations import DurationError, format_duration, parse_duration
from .errors import SpecError, unknown_name
from .references import StepPlace, reference_errors, step_places
from .steps import STEP_TYPES
from .yaml_nodes import LoadedYaml


def semantic_errors(loaded: LoadedYaml, context: SpecContext | None = None) -> list[SpecError]:
    places = step_places(loaded)
    errors = [*_duplicate_stage_names(loaded), *_duplicate_step_names(loaded, places)]
    errors += _order_errors(loaded, places)
    errors += reference_errors(loaded, places)
    if context is not None:
        errors += _context_errors(loaded, places, context)
        if context.webhook_allowed_hosts is not None:
            errors += _webhook_destination_errors(loaded, places, context.webhook_allowed_hosts)
        if context.step_timeout_max is not None:
            errors += _step_timeout_errors(loaded, places, context.step_timeout_max)
    return errors


def _duplicate_stage_names(loaded: LoadedYaml) -> list[SpecError]:
    errors, first_line = [], {}
    stages = loaded.get(("stages",), [])
    for index, stage in enumerate(stages if isinstance(stages, list) else []):
        name = stage.get("name") if isinstance(stage, dict) else None
        if not isinstance(name, str):
            continue
        path = ("stages", index, "name")
        if name in first_line:
            message = f"stage name '{name}' is used twice (first on line {first_line[name]}); stage names are unique"
            errors.append(loaded.error(path, message))
        else:
            first_line[name] = loaded.position(path)[0]
    return errors


def _duplicate_step_names(loaded: LoadedYaml, places: list[StepPlace]) -> list[SpecError]:
    errors, first_line = [], {}
    for place in places:
        path = (*place.path, "name")
        if place.name in first_line:
            message = (
                f"step name '{place.name}' is used twice (first on line {first_line[place.name]}); "
                "step names are unique across the pipeline"
            )
            errors.append(loaded.error(path, message))
        else:
            first_line[place.name] = loaded.position(path)[0]
    return errors


def _order_errors(loaded: LoadedYaml, places: list[StepPlace]) -> list[SpecError]:
    """An evaluate step needs a train step before it, a policy gate an evaluate step before it."""
    errors = []
    for place in places:
        step = loaded.get(place.path)
        if place.type == "evaluate":
            model_step = step.get("model_step")
            if isinstance(model_step, str):
                errors += _model_step_errors(loaded, place, model_step, places)
            elif not _earlier(place, places, "train"):
                message = (
                    f"evaluate step '{place.name}' has no train step before it to evaluate"
                    f"{_parallel_note(place, places, 'train')}"
                )
                errors.append(loaded.error((*place.path, "type"), message))
        elif place.type == "policy_gate" and not _earlier(place, places, "evaluate"):
            message = (
                f"policy_gate step '{place.name}' has no evaluate step before it to supply the metrics "
                f"its rules check{_parallel_note(place, places, 'evaluate')}"
            )
            errors.append(loaded.error((*place.path, "type"), message))
    return errors


def _earlier(place: StepPlace, places: list[StepPlace], step_type: str) -> list[StepPlace]:
    return [other for other in places if other.type == step_type and other.runs_before(place)]


def _parallel_note(place: StepPlace, places: list[StepPlace], step_type: str) -> str:
    alongside = [
        other for other in places if other.type == step_type and other.stage == place.stage and other.path != place.path
    ]
    if place.parallel and alongside:
        return f" (step '{alongside[0].name}' is in the same parallel stage, so it runs at the same time)"
    return ""


def _model_step_errors(loaded: LoadedYaml, place: StepPlace, model_step: str, places: list[StepPlace]):
    path = (*place.path, "model_step")
    target = next((other for other in places if other.name == model_step), None)
    trains = [other.name for other in places if other.type == "train"]
    if target is None:
        return [
            loaded.error(
                path, unknown_name(f"model_step '{model_step}' is not a step", model_step, trains, label="train steps")
            )
        ]
    if target.type != "train":
        return [loaded.error(path, f"model_step '{model_step}' is a {target.type} step, not a train step")]
    if not target.runs_before(place):
        return [
            loaded.error(
                path,
                f"model_step '{model_step}' does not run before step '{place.name}', so there is "
                "no model to evaluate yet",
            )
        ]
    return []


def _context_errors(loaded: LoadedYaml, places: list[StepPlace], context: SpecContext) -> list[SpecError]:
    errors = []
    for place in places:
        model = STEP_TYPES.get(place.type)
        if model is None:
            continue
        step = loaded.get(place.path)
        fields = model.model_fields
        environment = step.get("environment")
        if context.environments and "environment" in fields and isinstance(environment, str):
            if environment not in context.environments:
                message = unknown_name(f"environment '{environment}' does not exist", environment, context.environments)
                errors.append(loaded.error((*place.path, "environment"), message))
        dataset = step.get("dataset")
        if context.datasets and "dataset" in fields and isinstance(dataset, str):
            slug = dataset.partition("@")[0]
            if slug not in context.datasets:
                message = unknown_name(f"dataset '{slug}' does not exist", slug, context.datasets)
                errors.append(loaded.error((*place.path, "dataset"), message))
        approvers = step.get("approvers")
        if context.groups and "approvers" in fields and isinstance(approvers, list):
            for index, group in enumerate(approvers):
                if isinstance(group, str) and group not in context.groups:
                    message = unknown_name(f"approver group '{group}' does not exist", group, context.groups)
                    errors.append(loaded.error((*place.path, "approvers", index), message))
    if context.groups:
        errors += _recipient_group_errors(loaded, places, context.groups)
    if context.protected_environments:
        errors += _approval_floor_errors(loaded, places, context)
    return errors


def _guarded_environment(loaded: LoadedYaml, places: list[StepPlace], approval: StepPlace) -> str | None:
    """The environment of the first deploy step after an approval step: what its reviewers let a model into."""
    after = places[places.index(approval) + 1 :]
    deploy = next((place for place in after if place.type == "deploy"), None)
    environment = loaded.get(deploy.path).get("environment") if deploy else None
    return environment if isinstance(environment, str) else None


def _approval_floor_errors(loaded: LoadedYaml, places: list[StepPlace], context: SpecContext) -> list[SpecError]:
    """An approval step before a deploy to a protected environment may narrow its rules, never lower them."""
    errors = []
    for place in places:
        if place.type != "approval":
            continue
        name = _guarded_environment(loaded, places, place)
        limits = context.protected_environments.get(name) if name else None
        if limits is None:
            continue
        step = loaded.get(place.path)
        trusted = ", ".join(sorted(limits.groups))
        approvers = step.get("approvers")
        for index, group in enumerate(approvers if isinstance(approvers, list) else []):
            if isinstance(group, str) and group not in limits.groups:
                message = (
                    f"approver group '{group}' may not approve deploys to {name}: {name} trusts only {trusted}; "
                    "an approval step may narrow an environment's approver groups, not widen them"
                )
                errors.append(loaded.error((*place.path, "approvers", index), message))
        needed = step.get("min_approvals")
        if isinstance(needed, int) and not isinstance(needed, bool) and needed < limits.min_approvals:
            message = (
                f"min_approvals {needed} is below the {limits.min_approvals} that {name} requires; an approval "
                "step may raise an environment's count, not lower it"
            )
            errors.append(loaded.error((*place.path, "min_approvals"), message))
        if step.get("on_timeout") == "approve":
            message = (
                f"on_timeout: approve is not allowed before a deploy to {name}, a protected environment: "
                "a timeout there can only reject"
            )
            errors.append(loaded.error((*place.path, "on_timeout"), message))
    return errors


def _recipient_group_errors(loaded: LoadedYaml, places: list[StepPlace], groups: set[str]) -> list[SpecError]:
    """'group:<name>' recipients, in notifications and in notify steps, must name existing groups."""
    errors = []
    for path, recipients in _recipient_lists(loaded, places):
        for index, recipient in enumerate(recipients if isinstance(recipients, list) else []):
            if isinstance(recipient, str) and recipient.startswith("group:"):
                group = recipient.partition(":")[2]
                if group and group not in groups:
                    message = unknown_name(f"group '{group}' does not exist", group, groups)
                    errors.append(loaded.error((*path, index), message))
    return errors


def _recipient_lists(loaded: LoadedYaml, places: list[StepPlace]) -> list[tuple[tuple, object]]:
    """(path, value) of every recipient list: each rule's `to` under notifications, each notify step's `to`."""
    lists = []
    notifications = loaded.get(("notifications",), [])
    for index, notification in enumerate(notifications if isinstance(notifications, list) else []):
        if isinstance(notification, dict):
            lists.append((("notifications", index, "to"), notification.get("to")))
    for place in places:
        if place.type == "notify":
            lists.append(((*place.path, "to"), loaded.get(place.path).get("to")))
    return lists


def _webhook_destination_errors(loaded: LoadedYaml, places: list[StepPlace], allowed_hosts) -> list[SpecError]:
    """'webhook:' recipients must point where the site may call (NOTIFY_ALLOWED_HOSTS, else public hosts); the
    outbound client checks again after resolving the name, when it sends."""
    errors = []
    for path, recipients in _recipient_lists(loaded, places):
        for index, recipient in enumerate(recipients if isinstance(recipients, list) else []):
            if not isinstance(recipient, str) or not recipient.startswith("webhook:"):
                continue
            url = recipient.partition(":")[2]
            if not url.startswith(("http://", "https://")):
                continue  # the recipient's own check already says it needs an http(s) address
            problem = destination_problem(url, allowed_hosts)
            if problem:
                errors.append(loaded.error((*path, index), f"webhook {problem}"))
    return errors


def _step_timeout_errors(loaded: LoadedYaml, places: list[StepPlace], maximum: int) -> list[SpecError]:
    """A step_timeout above the site's STEP_TIMEOUT_MAX: the worker would stop the step at the maximum anyway."""
    errors = []
    for place in places:
        text = loaded.get(place.path).get("step_timeout")
        try:
            seconds = parse_duration(text) if text is not None else None
        except DurationError:
            continue  # reported by the step's model
        if seconds is not None and seconds > maximum:
            message = (
                f"step_timeout {text} is longer than this site allows a step to run, {format_duration(maximum)} "
                "(STEP_TIMEOUT_MAX)"
            )
            errors.append(loaded.error((*place.path, "step_timeout"), message))
    return errors
