from django import forms

from pipelines_app.models import AlertRule
from pipelines_app.monitoring.summary import WindowInvalid, parse_window
from pipelines_app.outbound import destination_problem
from pipelines_app.spec.steps import DEFAULT_CANARY_CHECKS, MAX_ANALYSIS_CHECKS, analysis_problems


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150)
    verb = forms.CharField(required=False, max_length=64)
    object_type = forms.CharField(required=False, max_length=64, label="Object type")
    object_id = forms.CharField(required=False, max_length=64, label="Object id")
    since = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    until = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("'Since' must be before 'until'.")
        return data

    def filter(self, events):
        data = self.cleaned_data
        if data["actor"]:
            events = events.filter(actor_name=data["actor"])
        if data["verb"]:
            events = events.filter(verb=data["verb"])
        if data["object_type"]:
            events = events.filter(object_type=data["object_type"])
        if data["object_id"]:
            events = events.filter(object_id=data["object_id"])
        if data["since"]:
            events = events.filter(created_at__gte=data["since"])
        if data["until"]:
            events = events.filter(created_at__lte=data["until"])
        return events


class DatasetUploadForm(forms.Form):
    name = forms.SlugField(max_length=100, help_text="Letters, digits and dashes. An existing name adds a new version.")
    file = forms.FileField(help_text="A CSV file with a header row, UTF-8.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DatasetSchemaForm(forms.Form):
    """One kind per column plus the target; built from the version's columns."""

    KINDS = [("numeric", "numeric"), ("categorical", "categorical")]

    def __init__(self, *args, version, **kwargs):
        super().__init__(*args, **kwargs)
        self.version = version
        self.columns = version.columns()
        described = version.dataset.column_descriptions or {}
        for i, column in enumerate(self.columns):
            self.fields[f"kind_{i}"] = forms.ChoiceField(
                choices=self.KINDS, label=column, initial=version.schema[column]
            )
            self.fields[f"description_{i}"] = forms.CharField(
                required=False,
                max_length=200,
                label=f"What {column} means",
                initial=described.get(column, ""),
                widget=forms.TextInput(attrs={"aria-label": f"What {column} means"}),
            )
        self.fields["target"] = forms.ChoiceField(
            choices=[("", "— none —")] + [(c, c) for c in self.columns], required=False, initial=version.target
        )

    def kind_fields(self):
        return [self[f"kind_{i}"] for i in range(len(self.columns))]

    def column_rows(self):
        """(column, kind field, description field) per column, for the schema table."""
        return [(c, self[f"kind_{i}"], self[f"description_{i}"]) for i, c in enumerate(self.columns)]

    def clean(self):
        data = super().clean()
        data["schema"] = {column: data.get(f"kind_{i}") for i, column in enumerate(self.columns)}
        data["descriptions"] = {column: data.get(f"description_{i}") or "" for i, column in enumerate(self.columns)}
        return data


class PipelineFileForm(forms.Form):
    yaml = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false"}), strip=False, label="Pipeline file"
    )
    note = forms.CharField(required=False, max_length=300, label="What changed")


def _estimator_choices():
    from pipelines_app.authoring import ESTIMATORS

    return [(e.key, f"{e.label} ({e.task})") for e in ESTIMATORS.values()]


class PipelineWizardForm(forms.Form):
    """The common case in a form; ``authoring.wizard_yaml`` turns it into a pipeline file."""

    STRATEGIES = [("replace", "replace"), ("canary", "canary"), ("shadow", "shadow")]

    name = forms.SlugField(max_length=100, help_text="Also the pipeline's address: letters, digits and dashes.")
    description = forms.CharField(required=False, max_length=300)
    model = forms.SlugField(max_length=100, required=False, help_text="Registered model name; the name if empty.")
    dataset = forms.ChoiceField(choices=[])
    dataset_version = forms.IntegerField(required=False, min_value=1, help_text="Empty: always the latest version.")
    target = forms.CharField(max_length=200)
    positive_label = forms.CharField(required=False, max_length=200)
    estimator = forms.ChoiceField(choices=_estimator_choices)
    iterations = forms.IntegerField(required=False, min_value=1, max_value=100000, label="Iterations / trees")
    learning_rate = forms.FloatField(required=False, min_value=0.0001, max_value=10)
    max_depth = forms.IntegerField(required=False, min_value=1, max_value=1000)
    regularisation = forms.FloatField(required=False, min_value=0.000001, label="Regularisation (C or alpha)")
    drop = forms.MultipleChoiceField(
        required=False, choices=[], label="Columns to leave out", widget=forms.CheckboxSelectMultiple
    )
    sensitive_features = forms.MultipleChoiceField(
        required=False, choices=[], label="Check fairness by", widget=forms.CheckboxSelectMultiple
    )
    min_metric = forms.FloatField(
        required=False, min_value=-1, max_value=1, initial=0.75, label="Minimum ROC AUC (R² for regression)"
    )
    max_fairness_gap = forms.FloatField(
        required=False, min_value=0, max_value=1, initial=0.2, label="Largest demographic parity difference"
    )
    no_regression = forms.BooleanField(required=False, initial=True, label="Refuse a regression against production")
    regression_tolerance = forms.FloatField(required=False, min_value=0, max_value=1, initial=0.01)
    deploy_staging = forms.BooleanField(required=False, initial=True, label="Deploy to staging")
    deploy_production = forms.BooleanField(required=False, initial=True, label="Deploy to production after approval")
    approver_group = forms.ChoiceField(choices=[])
    min_approvals = forms.IntegerField(min_value=1, max_value=10, initial=1)
    strategy = forms.ChoiceField(choices=STRATEGIES, initial="replace")
    canary_percent = forms.IntegerField(required=False, min_value=1, max_value=99, initial=10)
    retrain_on_drift = forms.BooleanField(required=False, initial=True, label="Retrain when drift is detected")
    schedule = forms.CharField(
        required=False,
        max_length=100,
        label="Also run on a schedule (cron)",
        help_text='e.g. "0 3 * * 1": Mondays at 03:00',
    )

    def __init__(self, *args, datasets, groups, columns=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset"].choices = [(d, d) for d in datasets]
        self.fields["approver_group"].choices = [(g, g) for g in groups]
        self.fields["approver_group"].initial = "reviewers" if "reviewers" in groups else None
        self.fields["drop"].choices = self.fields["sensitive_features"].choices = [(c, c) for c in columns]

    def clean(self):
        data = super().clean()
        columns = {c for c, _ in self.fields["drop"].choices}
        if columns and data.get("target") and data["target"] not in columns:
            self.add_error("target", f"'{data['target']}' is not a column of this dataset.")
        if data.get("target") and data["target"] in (data.get("drop") or []):
            self.add_error("drop", "The target cannot be left out.")
        if data.get("deploy_production") and not data.get("approver_group"):
            self.add_error("approver_group", "Production needs an approver group.")
        return data


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. 'scoring service'.")
    predict_only = forms.BooleanField(
        required=False, label="Predictions only", help_text="The token may call the serving endpoints and nothing else."
    )


class AlertRuleForm(forms.ModelForm):
    """A deployment's alert rule; the people and webhooks to tell are checked now, not when it fires."""

    notify = forms.CharField(
        required=False,
        help_text="Comma-separated: group:<name>, e-mail addresses, webhook:<url>.",
    )

    class Meta:
        model = AlertRule
        fields = ["metric", "feature", "threshold", "window", "cooldown_minutes", "notify", "trigger_retraining"]

    def __init__(self, *args, deployment=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.deployment = deployment

    def clean_notify(self):
        entries = [e.strip() for e in (self.cleaned_data.get("notify") or "").split(",") if e.strip()]
        webhooks = [e for e in entries if e.startswith("webhook:")]
        bad = [e for e in entries if e not in webhooks and not (e.startswith("group:") or "@" in e)]
        if bad:
            raise forms.ValidationError(f"Not a group, e-mail address or webhook: {', '.join(bad)}.")
        # The outbound client checks again when it sends; refusing here tells the editor now, not the audit log later.
        problems = [destination_problem(e.partition(":")[2]) for e in webhooks]
        if any(problems):
            raise forms.ValidationError([f"Webhook {problem}." for problem in problems if problem])
        return entries

    def clean_window(self):
        try:
            parse_window(self.cleaned_data["window"])
        except WindowInvalid as exc:
            raise forms.ValidationError(str(exc)) from None
        return self.cleaned_data["window"]

    def clean(self):
        data = super().clean()
        if data.get("metric") == AlertRule.Metric.FEATURE_PSI:
            version = self.deployment.primary_version if self.deployment else None
            features = version.features if version else []
            if data.get("feature") not in features:
                self.add_error("feature", f"Name one of the model's features: {', '.join(features)}.")
        if data.get("metric") == AlertRule.Metric.FEATURE_DRIFT:
            if data.get("feature"):
                self.add_error("feature", "Leave the feature empty: this rule counts every feature at alert level.")
            threshold = data.get("threshold")
            if threshold is not None and (threshold < 1 or threshold != int(threshold)):
                self.add_error("threshold", "A number of features: 1 fires as soon as any feature drifts.")
        return data


class CanaryAnalysisForm(forms.Form):
    """Start judging a canary by hand (one made from the registry, or one whose pipeline asked for no analysis):
    the keys of ``analysis:`` in a deploy step, checks one per line."""

    min_requests = forms.IntegerField(
        min_value=1, max_value=1_000_000, initial=200, help_text="Requests each arm needs before it is judged."
    )
    max_duration = forms.CharField(
        max_length=20, initial="30m", help_text="Not enough traffic by then fails the canary, e.g. 30m, 2h."
    )
    checks = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=5000,
        initial="\n".join(DEFAULT_CANARY_CHECKS),
        help_text="One per line, the policy gate's grammar; primary.<metric> is the stable arm over the same window.",
    )
    on_pass = forms.ChoiceField(choices=[("promote", "promote"), ("hold", "hold")], initial="promote")
    on_fail = forms.ChoiceField(choices=[("rollback", "roll back"), ("hold", "hold")], initial="rollback")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        checks = [line.strip() for line in data["checks"].splitlines() if line.strip()]
        if len(checks) > MAX_ANALYSIS_CHECKS:
            raise forms.ValidationError(f"At most {MAX_ANALYSIS_CHECKS} checks; this has {len(checks)}.")
        analysis, problems = analysis_problems({**data, "checks": checks})
        if problems:
            raise forms.ValidationError([p[:1].upper() + p[1:] for p in problems])
        data["analysis"] = analysis
        return data
