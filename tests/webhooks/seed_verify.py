# ruff: noqa
# The published API reference's verify(), copied as is. The page collapsed its line breaks;
# they are restored here and nothing else is changed.
import hmac, hashlib
def verify(payload, signature, secret):
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)
