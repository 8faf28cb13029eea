"""Send real scoring requests to a deployed model, with optional drift, and post delayed feedback.

    manage.py simulate_traffic --model credit-card-approval --environment production --rows 5000 \\
        --drift income=1.5 --drift-after 2000 --feedback-rate 0.8

Rows are sampled from the model version's training dataset; after ``--drift-after`` rows each ``--drift`` applies:
``feature=1.5`` multiplies a numeric feature, ``feature=flip:0.1`` moves a tenth of a categorical feature's
values to another category. True labels for ``--feedback-rate`` of the rows are posted to the feedback API once
the requests are sent. The requests go to ``http://127.0.0.1:$PORT`` (8000) unless ``--url`` says otherwise, with
a token issued for a dedicated user and revoked at the end.
"""

import http.client
import json
import math
import random
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from pipelines_app.ml.training import label_text
from pipelines_app.models import ApiToken, AuditEvent, Deployment, PredictionLog, RollupCursor
from pipelines_app.monitoring.rollups import fold
from pipelines_app.serving.prediction_log import drain

SIMULATOR = "traffic-simulator"
FEEDBACK_BATCH = 500


def parse_drift(text):
    feature, _, change = text.partition("=")
    if not feature or not change:
        raise CommandError(f"--drift {text!r}: write feature=factor (e.g. income=1.5) or feature=flip:0.1")
    if change.startswith("flip:"):
        try:
            share = float(change[5:])
        except ValueError:
            raise CommandError(f"--drift {text!r}: flip takes a share between 0 and 1, e.g. flip:0.1") from None
        if not 0 < share <= 1:
            raise CommandError(f"--drift {text!r}: flip takes a share between 0 and 1")
        return feature, ("flip", share)
    try:
        return feature, ("scale", float(change))
    except ValueError:
        raise CommandError(f"--drift {text!r}: {change!r} is not a number") from None


class Command(BaseCommand):
    help = "Send real scoring requests (optionally drifted) to a deployed model and post delayed feedback."

    def add_arguments(self, parser):
        parser.add_argument("--model", required=True)
        parser.add_argument("--environment", default="production")
        parser.add_argument("--rows", type=int, default=1000)
        parser.add_argument("--drift", action="append", default=[], help="feature=factor or feature=flip:share")
        parser.add_argument("--drift-after", type=int, default=0, help="rows sent before the drift starts")
        parser.add_argument("--feedback-rate", type=float, default=0.0, help="share of rows whose label is sent")
        parser.add_argument("--batch", type=int, default=1, help="rows per request")
        parser.add_argument("--url", default="", help="the site's address (default http://127.0.0.1:$PORT)")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, **o):
        if o["rows"] < 1 or o["batch"] < 1:
            raise CommandError("--rows and --batch must be at least 1")
        if not 0 <= o["feedback_rate"] <= 1:
            raise CommandError("--feedback-rate is a share between 0 and 1")
        drifts = dict(parse_drift(text) for text in o["drift"])
        deployment = (
            Deployment.objects.select_related("primary_version__dataset_version")
            .filter(model__name=o["model"], environment__name=o["environment"])
            .first()
        )
        if deployment is None or deployment.primary_version is None:
            raise CommandError(f"nothing serves {o['model']} in {o['environment']}: deploy a version first")
        version = deployment.primary_version
        if version.dataset_version is None:
            raise CommandError(f"{version} names no training dataset to sample rows from")
        unknown = [f for f in drifts if f not in version.features]
        if unknown:
            raise CommandError(f"--drift names {', '.join(unknown)}, not features of {version}: {version.features}")
        frame = version.dataset_version.read_frame()
        rng = random.Random(o["seed"])
        kinds = {entry["name"]: entry["kind"] for entry in version.feature_schema}
        categories = {f: sorted(frame[f].dropna().astype(str).unique()) for f in drifts if kinds[f] != "numeric"}
        url = urlsplit(o["url"] or f"http://127.0.0.1:{settings.PORT}")
        token = self._token()
        first_id = PredictionLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
        try:
            sent, refused, labels, elapsed = self._send(
                url, token, o, version, frame, rng, drifts, kinds, categories, deployment
            )
            self._wait_until_folded(deployment, first_id, -(-sent // o["batch"]))
            accepted = self._feedback(url, token, labels) if labels else 0
        finally:
            ApiToken.objects.filter(key_hash=token.key_hash).update(revoked_at=timezone.now())
        AuditEvent.objects.record(
            "system",
            "traffic.simulated",
            deployment,
            {"rows": sent, "refused": refused, "drift": o["drift"], "feedback": accepted},
        )
        self.stdout.write(
            f"sent {sent} rows in {elapsed:.1f} s ({sent / elapsed:.0f} rows/s), {refused} refused; "
            f"{accepted} labels accepted"
        )

    def _token(self):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=SIMULATOR, defaults={"is_active": True})
        if created:
            user.set_unusable_password()
            user.save()
        user.groups.add(Group.objects.get_or_create(name="editors")[0])  # feedback needs an editor
        token, raw = ApiToken.objects.issue(user, name="simulate_traffic")
        token.raw = raw
        return token

    def _send(self, url, token, o, version, frame, rng, drifts, kinds, categories, deployment):
        connection = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
        path = f"/serve/{o['model']}/{o['environment']}/invocations"
        headers = {"Content-Type": "application/json", "Authorization": f"Token {token.raw}"}
        features, target = version.features, version.target
        records = frame[features].astype(object).where(frame[features].notna(), None).to_dict("records")
        truth = [None if label != label else label for label in frame[target].tolist()]
        sent = refused = 0
        labels = []
        started = time.monotonic()
        while sent < o["rows"]:
            picks = [rng.randrange(len(records)) for _ in range(min(o["batch"], o["rows"] - sent))]
            rows = []
            for offset, index in enumerate(picks):
                row = dict(records[index])
                if sent + offset >= o["drift_after"]:
                    for feature, (how, amount) in drifts.items():
                        row[feature] = self._drifted(row[feature], how, amount, categories.get(feature), rng)
                rows.append({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})
            try:
                # Bytes, so that http.client sends the body with the headers in one write (a str body goes
                # separately and can wait on a delayed ACK).
                connection.request("POST", path, json.dumps({"dataframe_records": rows}).encode(), headers)
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                raise CommandError(f"{url.geturl()}{path} did not answer: {exc}") from exc
            if response.status == 401 or response.status == 403:
                raise CommandError(f"the server refused the token ({response.status}): {body[:200]!r}")
            if response.status != 200:
                refused += len(rows)
            else:
                for request_id, index in zip(json.loads(body)["request_ids"], picks, strict=True):
                    if truth[index] is not None and rng.random() < o["feedback_rate"]:
                        labels.append({"request_id": request_id, "label": label_text(truth[index])})
            sent += len(rows)
            if sent % 1000 < len(rows):
                self.stderr.write(f"  {sent} / {o['rows']} rows sent")
        connection.close()
        return sent, refused, labels, max(time.monotonic() - started, 1e-6)

    def _wait_until_folded(self, deployment, first_id, requests, timeout=120):
        """Return once every request sent is logged and in the rollups, so that what follows (a dashboard, the
        summary API) sees all of it. The logging and rollup jobs are idempotent: running them here is safe."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            drain()
            while fold():
                pass
            logged = PredictionLog.objects.filter(deployment=deployment, id__gt=first_id)
            newest = logged.order_by("-id").values_list("id", flat=True).first() or 0
            cursor = RollupCursor.objects.filter(name="predictions").values_list("last_id", flat=True).first() or 0
            if logged.count() >= requests and cursor >= newest:
                return
            time.sleep(0.5)
        self.stderr.write(f"not every request reached the rollups within {timeout} s; the dashboards catch up later")

    @staticmethod
    def _drifted(value, how, amount, categories, rng):
        if value is None:
            return None
        if how == "scale":
            return value * amount if isinstance(value, int | float) else value
        if categories and len(categories) > 1 and rng.random() < amount:
            return rng.choice([c for c in categories if c != str(value)])
        return value

    def _feedback(self, url, token, labels):
        connection = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=60)
        headers = {"Content-Type": "application/json", "Authorization": f"Token {token.raw}"}
        accepted = 0
        for start in range(0, len(labels), FEEDBACK_BATCH):
            body = json.dumps(labels[start : start + FEEDBACK_BATCH]).encode()
            connection.request("POST", "/api/v1/feedback/", body, headers)
            response = connection.getresponse()
            body = response.read()
            if response.status == 200:
                accepted += json.loads(body)["accepted"]
            else:
                self.stderr.write(f"feedback refused ({response.status}): {body[:200]!r}")
        connection.close()
        return accepted
