"""sshd and token realms for the Python tests, as tests/src/ssh.rs makes
them: a private sshd on a free loopback port (own host key and config), a
realm made by ``ssotool realm init`` under a private root (a real system
account with a random name, deleted on close), client keys from
ssh-keygen."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from harness import artifact, free_port, random_name, stop, wait_port


class ClientKey:
    """An ssh client key pair made by ``ssh-keygen -t ed25519``."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="sso-sshkey-")
        self.private = Path(self.dir) / "id_ed25519"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(self.private)], check=True
        )
        self.public = self.private.with_suffix(".pub")

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class Realm:
    """A token realm made by ``ssotool realm init`` under a private root (a
    real system account with a random name, deleted by :meth:`close`), as
    tests/src/ssh.rs makes them."""

    def __init__(self, domain: str, services: list[str], ttl: int) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sso-realm-"))
        os.chmod(self.root, 0o755)
        (self.root / "bin").mkdir(mode=0o755)
        self.ssotool = self.root / "bin/ssotool"
        shutil.copy(artifact("ssotool"), self.ssotool)
        os.chmod(self.ssotool, 0o755)
        self.name = random_name("ssop")
        self.domain = domain
        args = ["init", self.name, "--domain", domain, "--ttl", str(ttl)]
        for s in services:
            args += ["--service", s]
        self.admin(*args)

    def admin(self, *args: str) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [str(self.ssotool), "realm", "--root", str(self.root), *args], capture_output=True, text=True
        )
        if out.returncode != 0:
            raise RuntimeError(f"realm {args[0]}: {out.stderr.strip()}")
        return out

    def add(self, key: ClientKey, user: str, groups: str) -> None:
        self.admin("add", self.name, str(key.public), "--user", user, "--groups", groups)

    @property
    def public_key(self) -> Path:
        return self.root / "etc/sso/realms" / self.name / "public.key"

    @property
    def secret_key(self) -> Path:
        return self.root / "var/lib/sso-realm" / self.name / "secret.key"

    def close(self) -> None:
        subprocess.run([str(self.ssotool), "realm", "--root", str(self.root), "delete", self.name], capture_output=True)
        if subprocess.run(["getent", "passwd", self.name], capture_output=True).returncode == 0:
            subprocess.run(["userdel", "--", self.name], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


class Sshd:
    """A private sshd on 127.0.0.1 accepting public keys of ``users``."""

    def __init__(self, users: list[str]) -> None:
        os.makedirs("/run/sshd", exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix="sshd-"))
        host_key = self.dir / "host_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
        self.log_path = self.dir / "sshd.log"
        for _ in range(5):
            self.port = free_port()
            config = self.dir / "sshd_config"
            config.write_text(
                f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {self.dir}/sshd.pid\n"
                "UsePAM no\nStrictModes yes\nPubkeyAuthentication yes\nPasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\nAuthorizedKeysFile .ssh/authorized_keys\n"
                f"AllowUsers {' '.join(users)}\nLogLevel VERBOSE\n"
            )
            log = open(self.log_path, "wb")
            self.proc = subprocess.Popen(
                ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
            log.close()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                if "Server listening" in self.log() and wait_port(self.port, 1):
                    host_pub = host_key.with_suffix(".pub").read_text()
                    self.known_hosts = self.dir / "known_hosts"
                    self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_pub}")
                    return
                time.sleep(0.05)
            stop(self.proc)
        raise RuntimeError(f"sshd did not start:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def accepted_logins(self, account: str) -> int:
        return self.log().count(f"Accepted publickey for {account} ")

    def ssh_options(self, key: ClientKey) -> list[str]:
        return [
            "-p",
            str(self.port),
            "-i",
            str(key.private),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "IdentityAgent=none",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-F",
            "/dev/null",
        ]

    def close(self) -> None:
        stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)
