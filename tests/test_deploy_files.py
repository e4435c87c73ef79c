"""The reference deployment of docs/deploy.md: every file it names is in the repository and
parses as what it claims to be, and the processes it describes agree with each other and
with docs/configuration.md (every variable of the env file is documented in its table)."""

import configparser
import json
import re
import shlex

import yaml

from chat.protocol import MAX_FRAME_BYTES
from tests.live_stack import ROOT, LiveStack

DEPLOY = ROOT / "deploy"


def named_files() -> set[str]:
    return set(re.findall(r"`(deploy/[\w./@-]+)`", (ROOT / "docs" / "deploy.md").read_text()))


def test_every_file_the_deploy_doc_names_exists():
    names = named_files()
    assert len(names) >= 12
    missing = [name for name in sorted(names) if not (ROOT / name).is_file()]
    assert missing == []
    assert {f"deploy/{p.relative_to(DEPLOY)}" for p in DEPLOY.rglob("*") if p.is_file()} <= names


def test_procfile_lists_the_five_processes():
    entries = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            entries[name.strip()] = shlex.split(command)
    assert set(entries) == {"release", "web", "worker", "screening", "beat"}
    assert entries["screening"][:6] == ["celery", "-A", "config", "worker", "-Q", "screening"]
    assert entries["web"][:2] == ["uvicorn", "config.asgi:application"]
    assert entries["worker"][:4] == ["celery", "-A", "config", "worker"]
    assert entries["beat"][:4] == ["celery", "-A", "config", "beat"]
    assert "migrate" in entries["release"] and "persistence_check" in entries["release"][-1]


def test_systemd_units_parse_and_share_the_environment():
    units = sorted((DEPLOY / "systemd").glob("rendezvous-*.service"))
    assert len(units) == 5
    for unit in units:
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str
        parser.read_string(unit.read_text())
        assert {"Unit", "Service"} <= set(parser.sections()), unit.name
        service = parser["Service"]
        assert service["EnvironmentFile"] == "/etc/rendezvous/rendezvous.env", unit.name
        assert "/srv/rendezvous/.venv/bin/" in service["ExecStart"], unit.name
        if parser.has_section("Install"):
            assert parser["Install"]["WantedBy"] == "multi-user.target"


def env_file() -> dict[str, str]:
    pairs = {}
    for line in (DEPLOY / "rendezvous.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, value = line.split("=", 1)
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*", key), line
            pairs[key] = value
    return pairs


def test_env_file_parses_and_every_variable_is_in_the_configuration_page():
    env = env_file()
    configuration = (ROOT / "docs" / "configuration.md").read_text()
    undocumented = [key for key in env if f"`{key}`" not in configuration]
    assert undocumented == []
    assert env["DB_PGBOUNCER"] == "1" and ":6432/" in env["DATABASE_URL"]
    assert len(env["CHANNEL_REDIS_URLS"].split(",")) == 2


def test_pgbouncer_ini_is_transaction_pooling_on_the_port_the_env_file_uses():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string((DEPLOY / "pgbouncer.ini").read_text())
    settings = parser["pgbouncer"]
    assert settings["pool_mode"] == "transaction"
    assert f":{settings['listen_port']}/" in env_file()["DATABASE_URL"]
    assert "rendezvous" in parser["databases"]


def test_compose_file_parses_and_wires_the_topology():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "pgbouncer", "redis", "redis-channels-a", "redis-channels-b"} <= set(services)
    assert {"release", "asgi1", "asgi2", "worker", "beat", "lb"} <= set(services)
    for name in ("asgi1", "asgi2", "worker", "beat", "release"):
        env = services[name]["environment"]
        assert env["DB_PGBOUNCER"] == "1" and "@pgbouncer:6432/" in env["DATABASE_URL"], name
        assert len(env["CHANNEL_REDIS_URLS"].split(",")) == 2, name
    for service in services.values():
        build = service.get("build")
        if build:
            assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).is_file(), source
        for env_file_name in service.get("env_file", []):
            assert (DEPLOY / env_file_name).is_file()


def test_haproxy_checks_healthz_on_every_asgi_server():
    sections, current = {}, None
    for raw in (DEPLOY / "haproxy.cfg").read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line:
            continue
        if not raw.startswith((" ", "\t")):
            current = line
            sections[current] = []
        else:
            assert current is not None, raw
            sections[current].append(line.split())
    backend = sections["backend asgi"]
    assert ["option", "httpchk", "GET", "/healthz"] in backend
    servers = [words for words in backend if words[0] == "server"]
    assert len(servers) >= 2 and all("check" in words for words in servers)
    assert any(words[:2] == ["timeout", "tunnel"] for words in sections["defaults"])


def turnserver_conf() -> dict[str, list[str]]:
    options: dict[str, list[str]] = {}
    for line in (DEPLOY / "turnserver.conf").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            options.setdefault(key.strip(), []).append(value.strip())
    return options


def test_coturn_checks_the_credentials_rendezvous_hands_out_and_relays_to_no_private_address():
    """deploy/turnserver.conf: the shared-secret scheme with TURN_SECRET of the env file, on the
    ports TURN_URLS name; no relaying to loopback or private networks. The systemd unit and the
    compose service run that file."""
    conf, env = turnserver_conf(), env_file()
    assert "use-auth-secret" in conf and conf["static-auth-secret"] == [env["TURN_SECRET"]]
    ports = {conf["listening-port"][0], conf["tls-listening-port"][0]}
    assert {url.split("?")[0].rsplit(":", 1)[1] for url in env["TURN_URLS"].split(",")} == ports
    assert {"127.0.0.0-127.255.255.255", "10.0.0.0-10.255.255.255", "192.168.0.0-192.168.255.255"} <= set(
        conf["denied-peer-ip"]
    )
    assert "allow-loopback-peers" not in conf
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((DEPLOY / "systemd" / "coturn-rendezvous.service").read_text())
    assert "/usr/bin/turnserver -c /etc/rendezvous/turnserver.conf" in parser["Service"]["ExecStart"]
    coturn = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["coturn"]
    assert coturn["network_mode"] == "host" and "./turnserver.conf:/etc/coturn/turnserver.conf:ro" in coturn["volumes"]


def uvicorn_commands() -> dict[str, list[str]]:
    """Every place uvicorn is started, as its argument list."""
    procfile = next(line for line in (DEPLOY / "Procfile").read_text().splitlines() if line.startswith("web:"))
    unit = (DEPLOY / "systemd" / "rendezvous-asgi@.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD "))
    stack = (ROOT / "scripts" / "stack.py").read_text()
    stack_args = re.findall(r'"([^"]+)"', stack[stack.index('"asgi": [') : stack.index('"worker": [')])
    return {
        "Procfile": shlex.split(procfile.split(":", 1)[1]),
        "systemd": shlex.split(exec_start.split("=", 1)[1]),
        "Dockerfile": json.loads(cmd[4:]),
        "scripts/stack.py": stack_args,
        "tests/live_stack.py": LiveStack(ROOT / "var").command("asgi"),
    }


def test_every_uvicorn_limits_websocket_frames_to_the_protocol_maximum():
    for where, args in uvicorn_commands().items():
        assert "--ws-max-size" in args, where
        assert int(args[args.index("--ws-max-size") + 1]) == MAX_FRAME_BYTES, where


def test_no_uvicorn_takes_the_client_address_from_forwarded_headers():
    """The client address is REMOTE_ADDR, or TRUSTED_PROXY_COUNT entries from the right of
    X-Forwarded-For, decided by the app (config.client_ip); a uvicorn that rewrote the address
    itself from a header (`--proxy-headers`, uvicorn's default for 127.0.0.1) would let anyone
    behind the proxy choose the address that throttles, bans and sessions see."""
    for where, args in uvicorn_commands().items():
        assert "--no-proxy-headers" in args, where
        assert "--proxy-headers" not in args and "--forwarded-allow-ips" not in args, where
