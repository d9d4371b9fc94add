"""A Python origin behind Keyward: verifies X-Keyward-Context with PyJWT.

Every request must carry a context token that Keyward signed for this very
method, path and query (docs/origin.md). Anything else is refused with 401, so
a client that reaches this server directly, around Keyward, gets nowhere.

    KEYWARD_URL=https://api.example.com PORT=3000 python3 origin.py

Needs PyJWT 2 with its crypto extra (Debian: python3-jwt python3-cryptography;
pip: "pyjwt[crypto]"). The standard library does the rest.
"""

import base64
import hashlib
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import jwt

KEYWARD_URL = os.environ["KEYWARD_URL"].rstrip("/")
# CONTEXT_ISSUER of the Keyward deployment ("keyward" unless it was changed).
ISSUER = os.environ.get("KEYWARD_ISSUER", "keyward")
AUDIENCE = "keyward-origin"
TOKEN_TYPE = "keyward-context+jwt"
CLOCK_TOLERANCE_SECONDS = 5

# Fetches Keyward's public keys once and again when a token names an unknown
# kid (a rotated signing key), so a rotation needs nothing done here.
jwks = jwt.PyJWKClient(f"{KEYWARD_URL}/_keyward/.well-known/jwks.json")


def query_hash(raw_query: str) -> str:
    """The htq claim: base64url (no padding) of SHA-256 of the raw query, without "?"."""
    digest = hashlib.sha256(raw_query.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify_context(token: str, method: str, target: str) -> dict:
    """Returns the verified claims, or raises jwt.InvalidTokenError."""
    key = jwks.get_signing_key_from_jwt(token).key
    claims = jwt.decode(
        token,
        key,
        algorithms=["ES256"],
        audience=AUDIENCE,
        issuer=ISSUER,
        leeway=CLOCK_TOLERANCE_SECONDS,
        options={"require": ["iss", "aud", "exp", "iat", "sub", "jti", "htm", "htp", "htq"]},
    )
    # The header is covered by the signature just checked, so reading it now is safe.
    if jwt.get_unverified_header(token).get("typ") != TOKEN_TYPE:
        raise jwt.InvalidTokenError("not a Keyward context token")
    # The raw request target, exactly as received: not percent-decoded, not normalised.
    url = urlsplit(target)
    if claims["htm"] != method or claims["htp"] != url.path:
        raise jwt.InvalidTokenError("issued for another method or path")
    if claims["htq"] != query_hash(url.query):
        raise jwt.InvalidTokenError("issued for another query string")
    return claims


class Handler(BaseHTTPRequestHandler):
    def handle_any(self) -> None:
        token = self.headers.get("X-Keyward-Context")
        try:
            if token is None:
                raise jwt.InvalidTokenError("no X-Keyward-Context: the request did not come through Keyward")
            claims = verify_context(token, self.command, self.path)
        except jwt.PyJWTError as error:
            self.answer(401, {"error": "not through Keyward", "reason": str(error)})
            return
        self.answer(200, {
            "verifiedBy": "python",
            "org": claims["org"],
            "keyId": claims["sub"],
            "environment": claims["env"],
            "requestId": claims["jti"],
            "method": claims["htm"],
            "path": claims["htp"],
            "user": claims.get("user"),
            "permissions": claims.get("permissions"),
            "credits": claims.get("credits"),
            "meta": claims.get("meta"),
        })

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # quiet: the caller reports
        pass


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "3000"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"python origin listening on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()
