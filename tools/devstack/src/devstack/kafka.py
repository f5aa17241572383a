"""A single-node Apache Kafka (KRaft, broker + controller) from the Maven Central jars (decision 0001).

The jars are fetched once with Maven from scripts/kafka/pom.xml into .devstack/kafka/libs (shared by every profile);
each profile has its own config, data, logs and pid file under <state>/kafka.
"""

import base64
import hashlib
import re
import secrets
import shutil
import subprocess
from collections.abc import Callable

from devstack import procs
from devstack.console import DevstackError, tail
from devstack.profiles import DEVSTACK_ROOT, ROOT, Profile

POM = ROOT / "scripts" / "kafka" / "pom.xml"
LIBS = DEVSTACK_ROOT / "kafka" / "libs"
LIBS_MARKER = LIBS / ".fetch-complete"
READY_TIMEOUT_S = 90
STOP_GRACE_S = 30
PORT_HINT = "stop that process or choose another port with the INCIDENTS_DEVSTACK_*_PORT variables"

LOG4J2 = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by the devstack: INFO to kafka/logs/server.log, WARN and above on the console. -->
<Configuration status="WARN">
  <Appenders>
    <Console name="Console" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
    <File name="ServerLog" fileName="${sys:kafka.logs.dir}/server.log" append="true">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Root level="INFO">
      <AppenderRef ref="Console" level="WARN"/>
      <AppenderRef ref="ServerLog"/>
    </Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="kafka.authorizer.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
  </Loggers>
</Configuration>
"""


def server_properties(profile: Profile) -> str:
    d, port, cport, parts = (
        profile.kafka_dir,
        profile.kafka_port,
        profile.kafka_controller_port,
        profile.internal_partitions,
    )
    listeners = f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}"
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{cport}",
        "listeners": listeners,
        "advertised.listeners": listeners,
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": f"{d}/data",
        "num.partitions": "1",
        "default.replication.factor": "1",
        "auto.create.topics.enable": "false",
        "group.initial.rebalance.delay.ms": "0",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": str(parts),
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": str(parts),
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "share.coordinator.state.topic.num.partitions": str(parts),
    }
    header = f"# Written by the devstack (profile {profile.name}) on every start; edits are overwritten.\n"
    return header + "".join(f"{key}={value}\n" for key, value in settings.items())


class Kafka:
    """The broker of one profile."""

    def __init__(self, profile: Profile, say: Callable[[str], None]) -> None:
        self.profile, self.say, self.dir = profile, say, profile.kafka_dir
        self.props, self.pidfile, self.portfile = (
            self.dir / "server.properties",
            self.dir / "kafka.pid",
            self.dir / "port",
        )
        self.server_log = self.dir / "logs" / "server.log"

    def running_pid(self) -> int | None:
        """Our broker's pid; a stale pid file is removed."""
        pid = procs.read_pid(self.pidfile)
        if pid is not None and procs.pid_matches(pid, str(self.props)):
            return pid
        self.pidfile.unlink(missing_ok=True)
        return None

    def recorded_port(self) -> int:
        text = self.portfile.read_text().strip() if self.portfile.exists() else ""
        return int(text) if text.isdigit() else self.profile.kafka_port

    def start(self) -> None:
        pid = self.running_pid()
        if pid is not None:
            self.say(f"kafka already running (pid {pid}, 127.0.0.1:{self.recorded_port()})")
            return
        check_java()
        fetch_jars(self.say)
        procs.require_free_port(self.profile.kafka_port, "Kafka", PORT_HINT)
        procs.require_free_port(self.profile.kafka_controller_port, "the Kafka controller", PORT_HINT)
        self.write_config()
        self.format_storage()
        self.launch_and_wait()

    def write_config(self) -> None:
        (self.dir / "data").mkdir(parents=True, exist_ok=True)
        (self.dir / "logs").mkdir(parents=True, exist_ok=True)
        self.props.write_text(server_properties(self.profile))
        (self.dir / "log4j2.xml").write_text(LOG4J2)

    def java(self, *args: str) -> list[str]:
        return [
            *("java", "-Xms512m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true"),
            f"-Dlog4j2.configurationFile={self.dir / 'log4j2.xml'}",
            f"-Dkafka.logs.dir={self.dir / 'logs'}",
            *("-cp", f"{LIBS}/*", *args),
        ]

    def format_storage(self) -> None:
        if (self.dir / "data" / "meta.properties").exists():
            return
        cluster_id = self.cluster_id()
        self.say(f"formatting Kafka storage in {self.dir}/data (cluster id {cluster_id})")
        log = self.dir / "format.log"
        command = self.java(
            "kafka.tools.StorageTool", "format", "--standalone", "-t", cluster_id, "-c", str(self.props)
        )
        if not procs.run_logged(command, log):
            tail(log)
            raise DevstackError(f"formatting Kafka storage failed; see {log}")

    def cluster_id(self) -> str:
        """16 random bytes, urlsafe base64 without padding, kept in <state>/kafka/cluster.id."""
        idfile = self.dir / "cluster.id"
        current = idfile.read_text().strip() if idfile.exists() else ""
        if not current or current.startswith("-"):  # the storage tool would read a leading '-' as an option
            current = "-"
            while current.startswith("-"):
                current = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
            idfile.write_text(f"{current}\n")
        return current

    def launch_and_wait(self) -> None:
        offset = self.server_log.stat().st_size if self.server_log.exists() else 0
        self.pidfile.unlink(missing_ok=True)
        port = self.profile.kafka_port
        self.say(f"starting kafka on 127.0.0.1:{port} (controller {self.profile.kafka_controller_port})")
        pid = procs.daemon(self.java("kafka.Kafka", str(self.props)), self.dir / "kafka.out")
        procs.write_pid(self.pidfile, pid)
        self.portfile.write_text(f"{port}\n")
        outcome = procs.wait_for(
            lambda: procs.port_accepts(port) and self.started_since(offset),
            lambda: procs.pid_alive(pid),
            READY_TIMEOUT_S,
            0.25,
        )
        if outcome == "exited":
            self.pidfile.unlink(missing_ok=True)
            self.log_tail()
            raise DevstackError(f"kafka (pid {pid}) exited during startup")
        if outcome == "timeout":
            self.log_tail()
            procs.stop_pidfile(self.pidfile, 10, self.say, str(self.props))
            raise DevstackError(
                f"kafka not ready after {READY_TIMEOUT_S}s (port {port} / 'Kafka Server started'); stopped it"
            )
        self.say(f"kafka up (pid {pid}, 127.0.0.1:{port})")

    def started_since(self, offset: int) -> bool:
        try:
            with self.server_log.open("rb") as f:
                f.seek(offset)
                return b"Kafka Server started" in f.read()
        except OSError:
            return False

    def log_tail(self) -> None:
        tail(self.server_log)
        if (self.dir / "kafka.out").exists() and (self.dir / "kafka.out").stat().st_size:
            tail(self.dir / "kafka.out")

    def stop(self) -> None:
        pid = self.running_pid()
        if pid is not None:
            self.say(f"stopping kafka (pid {pid})")
            procs.stop_pidfile(self.pidfile, STOP_GRACE_S, self.say, str(self.props))

    def wipe(self) -> None:
        for name in ("data", "logs"):
            shutil.rmtree(self.dir / name, ignore_errors=True)
        for name in ("cluster.id", "kafka.out", "format.log", "port", "server.properties", "log4j2.xml"):
            (self.dir / name).unlink(missing_ok=True)


def check_java() -> None:
    java = shutil.which("java")
    if java is None:
        raise DevstackError(
            "no 'java' on PATH: Kafka needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)"
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    line = (out.stderr or out.stdout).splitlines()[0] if (out.stderr or out.stdout) else ""
    found = re.search(r'version "([^"]*)"', line)
    version = found.group(1) if found else ""
    parts = re.split(r"[.+-]", version)
    major = parts[1] if parts[0] == "1" and len(parts) > 1 else parts[0]
    if not major.isdigit():
        raise DevstackError(f"cannot tell the Java version from: {line}")
    if int(major) < 17:
        raise DevstackError(f"java on PATH is version {version} ({java}); Kafka 4 needs Java 17 or newer")


def pom_hash() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def jars_complete() -> bool:
    return LIBS_MARKER.exists() and LIBS_MARKER.read_text().strip() == pom_hash() and any(LIBS.glob("kafka_2.13-*.jar"))


def fetch_jars(say: Callable[[str], None]) -> None:
    """Download the broker's jars with Maven once (serialised between profiles); later starts are offline."""
    if not POM.exists():
        raise DevstackError(f"missing {POM}")
    if jars_complete():
        return
    with procs.file_lock(DEVSTACK_ROOT / "kafka" / ".fetch.lock", 600, "another Kafka jar fetch"):
        if jars_complete():
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise DevstackError(
                f"no 'mvn' on PATH: Maven is needed once to download the Kafka broker jars into {LIBS} "
                "(Debian: apt-get install maven)"
            )
        log = DEVSTACK_ROOT / "kafka" / "mvn-fetch.log"
        say(f"fetching Kafka broker jars from Maven Central into {LIBS} (once) ...")
        shutil.rmtree(LIBS, ignore_errors=True)
        LIBS.mkdir(parents=True)
        command = [mvn, "-B", "-f", str(POM), "dependency:copy-dependencies", "-DincludeScope=runtime"]
        if not procs.run_logged([*command, f"-DoutputDirectory={LIBS}"], log):
            tail(log)
            raise DevstackError(
                f"Maven could not download the Kafka broker jars from Maven Central (offline?); see {log}"
            )
        if not any(LIBS.glob("kafka_2.13-*.jar")):
            raise DevstackError(f"Maven finished but no kafka_2.13 jar is in {LIBS}; see {log}")
        LIBS_MARKER.write_text(f"{pom_hash()}\n")
        say(f"fetched {len(list(LIBS.glob('*.jar')))} jars")
