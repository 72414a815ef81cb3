"""Real servers for the integration tests, started and stopped by the suite itself:
Dovecot (Debian's dovecot-imapd, its own config in a temp dir, 127.0.0.1, a free port,
passwd-file auth, Maildir storage), an aiosmtpd SMTP server on loopback, a throw-away
PostgreSQL cluster (Debian's initdb/pg_ctl, a free loopback port, trust auth), and rspamd
(Debian's package, a minimal config of its own: one scanner worker on loopback, no DNS).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import time
import warnings
from base64 import b64decode
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from imapclient import IMAPClient

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
RSPAMD = shutil.which("rspamd") or "/usr/bin/rspamd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _user_or(name: str, fallback: str) -> str:
    try:
        pwd.getpwnam(name)
        return name
    except KeyError:
        return fallback


def _pg_bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    return Path(initdb).resolve().parent


class Postgres:
    """A private PostgreSQL cluster in `root`; durability off (tests only), loopback only.
    As root, the server runs as Debian's `postgres` user (initdb refuses root)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.bindir = _pg_bindir()
        self.data = root / "data"
        self.user = "mailbot"
        self._run_as: list[str] = []
        if os.geteuid() == 0:
            self._run_as = ["runuser", "-u", _user_or("postgres", "nobody"), "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self._run_as, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self._run_as:
            owner = pwd.getpwnam(self._run_as[2])
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.user, "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
            "-c shared_buffers=64MB"
        )
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.root / "postgres.log"), "-w", "-t", "60", "start",
        )  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, template: str = "") -> str:
        """A new database, empty or a copy of `template`; returns its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres", autocommit=True
        ) as conn:
            copy = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def replace_database(self, name: str, template: str) -> None:
        """Drop `name` (nobody connected) and make it again as a copy of `template`."""
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE "{name}"')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")


class Dovecot:
    """A private Dovecot instance; users are added with `add_user` before or after start."""

    def __init__(
        self,
        root: Path,
        cert: Path | None = None,
        key: Path | None = None,
        introspection_url: str = "",
    ) -> None:
        """`introspection_url`: sign-in by OAuth2 bearer token (XOAUTH2, OAUTHBEARER), checked
        by Dovecot's oauth2 passdb against that RFC 7662 endpoint, instead of passwords."""
        self.root = root
        self.introspection_url = introspection_url
        self.port = free_port()
        self.tls_port = free_port()
        self.cert, self.key = cert, key
        self.passwd = root / "passwd"
        self.process: subprocess.Popen[bytes] | None = None

    def add_user(self, user: str, password: str) -> None:
        with self.passwd.open("a") as fh:
            fh.write(f"{user}:{{PLAIN}}{password}::::::\n")

    def _mail_ids(self) -> tuple[int, int]:
        """Dovecot never accesses mail as root: as root, the mail store belongs to nobody."""
        if os.getuid() != 0:
            return os.getuid(), os.getgid()
        nobody = pwd.getpwnam("nobody")
        return nobody.pw_uid, nobody.pw_gid

    def _config(self) -> str:
        uid, gid = self._mail_ids()
        me = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        root_run = os.getuid() == 0
        login_user = _user_or("dovenull", me) if root_run else me
        internal_user = _user_or("dovecot", me) if root_run else me
        return f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
listen = 127.0.0.1
protocols = imap
{self._ssl()}
disable_plaintext_auth = no
auth_mechanisms = {"xoauth2 oauthbearer" if self.introspection_url else "plain login"}
auth_failure_delay = 0
mail_location = maildir:{self.root}/mail/%u
first_valid_uid = 0
first_valid_gid = 0
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {group if not root_run else internal_user}
imap_idle_notify_interval = 1 secs
# No auth-failure penalty for loopback: one test's wrong password must not slow the next.
login_trusted_networks = 127.0.0.0/8
{self._passdb()}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={self.root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port if self.cert else 0}
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""

    def _passdb(self) -> str:
        if not self.introspection_url:
            return f"""passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd}
}}"""
        conf = self.root / "dovecot-oauth2.conf.ext"
        conf.write_text(
            f"introspection_url = {self.introspection_url}\n"
            "introspection_mode = post\n"
            "username_attribute = username\n"
            "active_attribute = active\n"
            "active_value = true\n"
        )
        return f"""passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {conf}
}}"""

    def _ssl(self) -> str:
        if self.cert is None:
            return "ssl = no"
        return f"ssl = yes\nssl_cert = <{self.cert}\nssl_key = <{self.key}"

    def start(self) -> None:
        os.chmod(self.root, 0o755)
        uid, gid = self._mail_ids()
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for sub in ("mail", "home"):
            os.chown(self.root / sub, uid, gid)
        self.passwd.touch()
        conf = self.root / "dovecot.conf"
        conf.write_text(self._config())
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() takes the children too
        )
        try:
            wait_for_port(self.port)
        except RuntimeError:
            self.stop()
            log = (
                (self.root / "dovecot.log").read_text(errors="replace")
                if (self.root / "dovecot.log").exists()
                else ""
            )
            raise RuntimeError(f"Dovecot did not start:\n{log}") from None

    def stop(self) -> None:
        """Like an outage: the master and every imap process, with their connections, go."""
        if self.process is None:
            return
        group = os.getpgid(self.process.pid)
        os.killpg(group, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def client(self, user: str, password: str) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(user, password)
        return client

    def append(
        self,
        user: str,
        password: str,
        messages: list[bytes],
        when: datetime | None = None,
        folder: str = "INBOX",
    ) -> None:
        with self.client(user, password) as client:
            for raw in messages:
                client.append(folder, raw, msg_time=when)


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    temp_fail: set[str] = field(default_factory=set)
    perm_fail: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.lower() in self.perm_fail:
            return "550 5.1.1 No such user here"
        if address.lower() in self.temp_fail:
            return "451 4.3.0 Mailbox temporarily unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        self.received.append(Received(envelope.mail_from or "", list(envelope.rcpt_tos), data))
        return "250 Message accepted for delivery"


@dataclass
class _XOAuth2Handler(_Handler):
    """Also AUTH XOAUTH2: the bearer token is checked by `valid(username, token)`; mail is
    refused without a successful sign-in."""

    valid: Callable[[str, str], bool] = lambda _user, _token: False
    logins: list[str] = field(default_factory=list)

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        if len(args) < 2:
            return AuthResult(
                success=False, handled=False, message="501 5.5.2 initial response required"
            )
        try:
            fields = dict(
                part.split("=", 1) for part in b64decode(args[1]).decode().split("\x01") if part
            )
        except (ValueError, UnicodeDecodeError):
            return AuthResult(success=False, handled=False, message="501 5.5.2 cannot decode")
        user, bearer = fields.get("user", ""), fields.get("auth", "")
        token = bearer.removeprefix("Bearer ")
        if not self.valid(user, token):
            return AuthResult(
                success=False, handled=False, message="535 5.7.8 token invalid or expired"
            )
        self.logins.append(user)
        return AuthResult(success=True, auth_data=user)


class SmtpServer:
    """aiosmtpd on loopback, recording what it accepts; can refuse chosen recipients.
    `xoauth2(username, token) -> bool`: require AUTH XOAUTH2, checked by that function."""

    def __init__(
        self,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        xoauth2: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.port = free_port()
        self.handler = _Handler() if xoauth2 is None else _XOAuth2Handler(valid=xoauth2)
        kwargs: dict[str, object] = {}
        if xoauth2 is not None:
            kwargs.update(auth_require_tls=False, auth_required=True)
        if starttls is not None:
            kwargs["tls_context"] = starttls
        if implicit_tls is not None:
            kwargs["ssl_context"] = implicit_tls
        with warnings.catch_warnings():  # AUTH without TLS: loopback, on purpose
            warnings.simplefilter("ignore")
            self.controller = Controller(
                self.handler, hostname="127.0.0.1", port=self.port, **kwargs
            )

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def reset(self) -> None:
        self.handler.received.clear()
        self.handler.temp_fail.clear()
        self.handler.perm_fail.clear()

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.received)


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (it is its own CA), made with openssl."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    os.chmod(key, 0o644)  # readable by Dovecot's unprivileged processes in this throwaway dir
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class Rspamd:
    """A private rspamd: one `normal` worker on a loopback port, DNS pointed at nothing (no
    network lists), and one test rule of our own: a body holding `marker` scores 20, over the
    reject threshold (15); anything else scores 0 ("no action")."""

    def __init__(self, root: Path, marker: str = "MAILBOT-RSPAMD-TEST-SPAM") -> None:
        self.root = root
        self.port = free_port()
        self.marker = marker
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        (self.root / "db").mkdir(parents=True, exist_ok=True)
        rules = self.root / "rules.lua"
        rules.write_text(
            "rspamd_config:register_symbol({ name = 'MAILBOT_TEST_SPAM', score = 20.0,\n"
            "  callback = function(task)\n"
            "    local body = task:get_rawbody()\n"
            f"    return body ~= nil and tostring(body):find('{self.marker}', 1, true) ~= nil\n"
            "  end })\n"
        )
        config = self.root / "rspamd.conf"
        config.write_text(
            f"""options {{
  pidfile = "{self.root}/rspamd.pid";
  dns {{ nameserver = ["127.0.0.1:1"]; timeout = 0.1s; retransmits = 0; }}
  filters = "";
  disable_hyperscan = true;
}}
logging {{ type = "console"; level = "warning"; }}
actions {{ reject = 15; add_header = 6; greylist = 4; }}
worker "normal" {{ bind_socket = "127.0.0.1:{self.port}"; count = 1; }}
lua = "{rules}";
"""
        )
        user = "root" if os.geteuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        self.process = subprocess.Popen(
            [RSPAMD, "-f", "-u", user, "-g", group, "-c", str(config),
             "--var", f"DBDIR={self.root}/db", "--var", f"RUNDIR={self.root}"],
            stdout=(self.root / "rspamd.log").open("wb"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for_port(self.port, timeout=60)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
