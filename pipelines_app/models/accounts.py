import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "mlops_"  # noqa: S105  (a visible marker, not a secret)


def hash_token(raw):
    # Tokens are 256 random bits, so a plain SHA-256 is enough: there is
    # nothing to brute-force the way there is with a password.
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenManager(models.Manager):
    def issue(self, user, name="", predict_only=False):
        """Create a token; return (token row, raw key). The raw key is shown once and never stored."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = self.create(
            user=user,
            name=name,
            prefix=raw[: len(TOKEN_PREFIX) + 6],
            key_hash=hash_token(raw),
            predict_only=predict_only,
        )
        return token, raw

    def authenticate(self, raw):
        return self.authenticate_hash(hash_token(raw))

    def authenticate_hash(self, key_hash):
        """The live token whose key hashes to ``key_hash`` (what a cache of tokens keeps instead of keys), or None."""
        token = self.select_related("user").filter(key_hash=key_hash, revoked_at__isnull=True).first()
        if token is None or not token.user.is_active:
            return None
        return token


class ApiToken(models.Model):
    """An API token. Only its SHA-256 is stored; ``prefix`` lets a user tell tokens apart."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    predict_only = models.BooleanField(default=False, help_text="May only call serving endpoints.")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenManager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    def touch(self):
        """Record use, at most once a minute, so that serving does not write on every request."""
        now = timezone.now()
        if self.last_used_at is None or (now - self.last_used_at).total_seconds() > 60:
            type(self).objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now

    def revoke(self):
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])
