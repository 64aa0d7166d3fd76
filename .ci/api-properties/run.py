"""Property-based testing of the running service from its own OpenAPI document.

Starts the server (embedded default, demo data) beside a WeChat stand-in, signs in as each kind
of caller the document describes (citizen, staff administrator, integrator with every scope),
then runs schemathesis with `schemathesis.toml` from this folder: every operation, no 5xx, every
answer valid against its documented schema.

Usage: python run.py <path to the fengqiao binary> <schemathesis executable>
"""

import atexit
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ENDS_CREDENTIALS = ["staffLogout", "updateStaff", "revokeApiClient"]


class WeChatStandIn(BaseHTTPRequestHandler):
    """WeChat's server API as the service calls it, with WeChat's own answer shapes: codes from
    the run are never valid sessions, content passes the security check, sends succeed."""

    def _answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith("/sns/jscode2session"):
            self._answer({"errcode": 40029, "errmsg": "invalid code"})
        else:
            self._answer({"errcode": 40001, "errmsg": "invalid credential"})

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        if self.path.startswith("/cgi-bin/stable_token"):
            self._answer({"access_token": "stand-in-access-token", "expires_in": 7200})
        elif self.path.startswith("/wxa/msg_sec_check"):
            self._answer(
                {"errcode": 0, "errmsg": "ok",
                 "result": {"suggest": "pass", "label": 100}, "detail": []}
            )
        elif self.path.startswith("/wxa/business/getuserphonenumber"):
            self._answer({"errcode": 40029, "errmsg": "invalid code"})
        else:
            self._answer({"errcode": 0, "errmsg": "ok"})

    def log_message(self, *args):
        pass


def call(base, path, body=None, token=None, form=None, basic=None):
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    if form is not None:
        data = form.encode()
        headers["content-type"] = "application/x-www-form-urlencoded"
    if token:
        headers["authorization"] = f"Bearer {token}"
    if basic:
        headers["authorization"] = "Basic " + base64.b64encode(basic.encode()).decode()
    req = urllib.request.Request(base + path, data=data, headers=headers,
                                 method="POST" if data is not None else "GET")
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.loads(res.read())


def staff_session(base, admin, unit, username, roles):
    password = "Generated-Cases-2026!"
    call(base, "/api/v1/admin/staff", {
        "username": username, "display_name": "接口性质测试", "password": password,
        "org_unit_id": unit, "roles": roles,
    }, token=admin)
    return call(base, "/api/v1/admin/auth/login",
                {"username": username, "password": password})["access_token"]


def free_port():
    """A port nothing listens on now: the run may share the machine with other servers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    port = free_port()
    binary, schemathesis = os.path.abspath(sys.argv[1]), sys.argv[2]
    wechat = ThreadingHTTPServer(("127.0.0.1", 0), WeChatStandIn)
    threading.Thread(target=wechat.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    data = tempfile.mkdtemp()
    atexit.register(shutil.rmtree, data, True)
    env = dict(os.environ)
    env.update({
        "FENGQIAO_SERVER__PORT": str(port),
        "FENGQIAO_LOG__FILTER": "warn",
        "FENGQIAO_WECHAT__BASE_URL": f"http://127.0.0.1:{wechat.server_port}",
        "FENGQIAO_WECHAT__APPID": "wx0123456789abcdef",
        "FENGQIAO_WECHAT__SECRET": "stand-in-secret-0123456789abcdef",
        "FENGQIAO_WECHAT__PUSH_TOKEN": "stand-in-push-token",
        # One address sends every generated case: the per-address limit would answer most of
        # them with 429 before they reach the operation under test.
        "FENGQIAO_RATE_LIMIT__PER_IP_PER_MINUTE": "0",
    })
    out = open(os.path.join(data, "server.out"), "w+")
    server = subprocess.Popen([binary, "--demo"], cwd=data, env=env, stdout=out,
                              stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/health/ready", timeout=1)
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        out.seek(0)
        shown = re.search(r"password: (\S+)", out.read())
        if shown is None:
            out.seek(0)
            sys.exit("the server did not start with demo data:\n" + out.read()[-4000:])
        password = shown.group(1)
        admin = call(base, "/api/v1/admin/auth/login",
                     {"username": "admin", "password": password})["access_token"]
        county = call(base, "/api/v1/admin/me", token=admin)["org_unit_id"]
        # Staff of the county with every role, so that generated cases reach past the 403s; and
        # one more account for the logout operation, which ends every session of its account.
        staff = staff_session(base, admin, county, "api.properties",
                              ["registrar", "handler", "supervisor", "leader", "editor",
                               "administrator"])
        staff_logout = staff_session(base, admin, county, "api.properties.logout", ["registrar"])
        created = call(base, "/api/v1/admin/api-clients", {
            "name": "接口性质测试",
            "scopes": ["petitions:read", "petitions:write", "webhooks:manage",
                       "escalations:write"],
            "rate_limit_per_minute": 100000,
        }, token=admin)
        client_id, secret = created["client"]["client_id"], created["client_secret"]
        integrator = call(base, "/api/v1/oauth/token", form="grant_type=client_credentials",
                          basic=f"{client_id}:{secret}")["access_token"]
        citizen = call(base, "/api/v1/auth/dev-login", {"openid": "api-properties"})
        run_env = dict(os.environ)
        run_env.update({
            "FENGQIAO_STAFF_TOKEN": staff,
            "FENGQIAO_STAFF_LOGOUT_TOKEN": staff_logout,
            "FENGQIAO_CLIENT_TOKEN": integrator,
            "FENGQIAO_CITIZEN_TOKEN": citizen["access_token"],
            "FENGQIAO_OPEN311_KEY": f"{client_id}:{secret}",
        })
        config = ["--config-file", os.path.join(HERE, "schemathesis.toml"), "run"]
        spec = base + "/api-docs/openapi.json"
        # Cases reuse identifiers from earlier answers, so the operations that end the caller's
        # own credentials (signing out, changing or deactivating a staff account, revoking a
        # client) would turn every later case into a 401: they run in a second pass, last.
        ending = [a for op in ENDS_CREDENTIALS for a in ("--include-operation-id", op)]
        keeping = [a for op in ENDS_CREDENTIALS for a in ("--exclude-operation-id", op)]
        status = subprocess.call([schemathesis, *config, *keeping, *sys.argv[3:], spec],
                                 env=run_env, cwd=data)
        if status == 0:
            status = subprocess.call([schemathesis, *config, *ending, spec], env=run_env, cwd=data)
    finally:
        server.terminate()
        server.wait(timeout=30)
        wechat.shutdown()
    if status != 0:
        out.seek(0)
        tail = out.read()[-4000:]
        print("server output (last lines):\n" + tail, file=sys.stderr)
    sys.exit(status)


if __name__ == "__main__":
    main()
