"""The Docker image and the district's compose set-up, checked without Docker: the files are parsed and held
against what the bot really reads (bot/config.py, the CLI, the webhook path), the image's build stage is run
(a wheel from exactly the files the Dockerfile copies), and the image's start command, health check and the
compose services' commands are run as processes against the fake Bot API."""

from __future__ import annotations

import asyncio
import fnmatch
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import Settings
from bot.demo.telegram import FakeTelegram, serve_http
from bot.webhook import WEBHOOK_PATH

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent  # the venv's console scripts: what `pip install` put on the PATH
SETTING_NAMES = {name.upper() for name in Settings.model_fields}
BOTS = ("bot1", "bot2")
SETTINGS_PREFIXES = ("BOT_", "DATABASE_", "REDIS_", "WEBHOOK_", "WEB_", "CURATOR_", "LOG_", "BACKUP_")


# ------------------------------------------------------------------------------------------------ the files
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments left out."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in dockerfile():
        if instruction[0] == "FROM":
            result.append([])
        result[-1].append(instruction)
    return result


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"not the exec (JSON) form: {args}"
    return value


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


VAR_RE = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, filled from deploy/.env as compose does."""

    def one(m: re.Match[str]) -> str:
        name, rest = m.group(1), m.group(0)[len(m.group(1)) + 2 : -1]
        if env.get(name):
            return env[name]
        assert not rest.lstrip(":").startswith("?"), f"compose would stop: {name} is required ({rest})"
        return rest.lstrip(":")[1:] if rest else ""

    return VAR_RE.sub(one, value)


def env_example() -> dict[str, str]:
    pairs = {}
    for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def caddyfile() -> list[tuple[list[str], list]]:
    """The Caddyfile as a tree of (tokens of a line, the block it opens)."""
    root: list[tuple[list[str], list]] = []
    stack = [root]
    for raw in (DEPLOY / "Caddyfile").read_text(encoding="utf-8").splitlines():
        tokens = raw.split("#", 1)[0].split()
        if not tokens:
            continue
        if tokens == ["}"]:
            stack.pop()
            continue
        opens = tokens[-1] == "{"
        node: tuple[list[str], list] = (tokens[:-1] if opens else tokens, [])
        stack[-1].append(node)
        if opens:
            stack.append(node[1])
    assert len(stack) == 1, "unbalanced braces in the Caddyfile"
    return root


def service_env(name: str, values: dict[str, str]) -> dict[str, str]:
    env = compose()["services"][name].get("environment", {})
    return {key: interpolate(str(value), values) for key, value in env.items()}


# -------------------------------------------------------------------------------------------- compose.yaml
def test_compose_runs_two_bots_after_the_migrations_with_postgresql_redis_and_caddy():
    services = compose()["services"]
    assert set(services) == {"db", "redis", "migrate", *BOTS, "caddy"}
    first, second = (services[b] for b in BOTS)
    assert first == second, "the two instances differ"
    assert first["image"] == services["migrate"]["image"]
    build = first["build"]
    assert build == services["migrate"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile"
    assert first["env_file"] == ".env"
    # The migrations finish before either bot starts; the bots wait for healthy services.
    assert first["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"},
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for name in ("db", "redis"):
        assert services[name]["healthcheck"]["test"], f"{name} has no health check to wait on"
    # The bots start with the image's own command (CMD), the one-shot with `migrate`.
    assert "command" not in first
    assert services["migrate"]["command"] == ["migrate"]
    # Only Caddy is published; the bots' port stays inside the network.
    assert all("ports" not in services[b] for b in BOTS)
    assert {p.split(":")[-1] for p in services["caddy"]["ports"]} == {"80", "443"}
    mounts = {v.split(":")[1]: v.split(":")[0] for v in services["caddy"]["volumes"]}
    assert (DEPLOY / mounts["/etc/caddy/Caddyfile"]).resolve() == DEPLOY / "Caddyfile"
    named = {v.split(":")[0] for s in services.values() for v in s.get("volumes", []) if v[0] not in "./"}
    assert named == set(compose()["volumes"])
    # Longer than the bot's own shutdown wait (bot/app.py): updates in flight finish before a SIGKILL.
    from bot.app import SHUTDOWN_WAIT

    assert int(first["stop_grace_period"].rstrip("s")) > SHUTDOWN_WAIT


def test_compose_and_its_env_file_name_only_settings_the_bot_reads():
    example = env_example()
    services = compose()["services"]
    service_vars = {"DOMAIN", "POSTGRES_PASSWORD"}  # compose's own, each explained in deploy/.env.example
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    used = set(VAR_RE.findall(text)) | set(re.findall(r"\{\$(\w+)", (DEPLOY / "Caddyfile").read_text()))
    assert used == service_vars
    assert service_vars <= set(example)
    for key in example:
        assert key in SETTING_NAMES or key in service_vars, f"deploy/.env.example: {key} is read by nothing"
    for name in ("migrate", *BOTS):
        for key in services[name]["environment"]:
            assert key in SETTING_NAMES, f"{name}: {key} is not a setting of bot/config.py"
            assert key not in example, (
                f"{key} is set by compose.yaml: deploy/.env.example would be overridden"
            )
    # Compose's environment with the example's values filled in is a valid configuration.
    values = {**example, "POSTGRES_PASSWORD": "pw", "BOT_TOKEN": "123456:" + "a" * 35}
    values["WEBHOOK_SECRET"] = "s" * 40
    env = {**values, **service_env("bot1", values)}
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items() if k in SETTING_NAMES})
    assert settings.webhook_url == "https://bot.example.org"
    assert settings.database_url == "postgresql+asyncpg://nastavnik:pw@db:5432/nastavnik"
    assert settings.redis_url == "redis://redis:6379/0"
    db_env = service_env("db", values)
    assert f"{db_env['POSTGRES_USER']}:{values['POSTGRES_PASSWORD']}@db:5432/{db_env['POSTGRES_DB']}" in (
        settings.database_url
    )


def test_caddy_sends_telegrams_updates_to_both_bots_and_keeps_the_rest_inside():
    values = {**env_example(), "POSTGRES_PASSWORD": "pw"}
    bot_env = service_env("bot1", values)
    [(site, body)] = caddyfile()
    assert site == ["{$DOMAIN}"] and bot_env["WEBHOOK_URL"] == "https://{}".format(values["DOMAIN"])
    handles = {tuple(tokens[1:]): block for tokens, block in body if tokens[0] == "handle"}
    assert set(handles) == {(WEBHOOK_PATH,), ()}, "only the webhook path is proxied"
    [(proxy, options)] = handles[(WEBHOOK_PATH,)]
    assert proxy[0] == "reverse_proxy"
    assert set(proxy[1:]) == {f"{b}:{bot_env['WEBHOOK_PORT']}" for b in BOTS}
    settings = {tokens[0]: tokens[1:] for tokens, _ in options}
    assert settings["health_uri"] == ["/healthz"]
    assert "lb_try_duration" in settings  # an instance that is down: the update goes to the other
    assert handles[()] == [(["respond", "404"], [])]  # /healthz and /metrics are not public


# ---------------------------------------------------------------------------------------------- Dockerfile
def test_dockerfile_builds_a_wheel_then_runs_it_as_a_user_without_network():
    build, runtime = stages()
    assert build[0] == ("FROM", "python:3.11-slim AS build")
    assert runtime[0] == ("FROM", "python:3.11-slim")
    final = dict(runtime)  # the last of each instruction counts
    users = [args for word, args in runtime if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert exec_form(final["ENTRYPOINT"]) == ["nastavnik"] and "nastavnik" in scripts
    assert exec_form(final["CMD"]) == ["run"]
    assert exec_form(final["HEALTHCHECK"].split(" CMD ", 1)[1]) == ["nastavnik", "healthcheck"]
    assert final["WORKDIR"] == "/app" and final["VOLUME"] == "/app/data"
    runs = " ".join(args for word, args in runtime if word == "RUN")
    assert "--no-index" in runs and not re.search(r"\b(curl|wget|apt-get)\b", runs)
    assert "mkdir -p /app/data" in runs and "chown nastavnik" in runs


def test_dockerfile_copies_every_package_and_dockerignore_keeps_secrets_and_junk_out():
    build = stages()[0]
    copied = {source for word, args in build if word == "COPY" for source in args.split()[:-1]}
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert {p.split(".")[0] for p in packages} | {"pyproject.toml", "README.md"} <= copied
    for source in copied:
        assert (ROOT / source).exists(), source
    ignored = dockerignore()
    for must in (".venv", ".git", ".env", "data", "demo-output", "tests", "**/__pycache__"):
        assert must in ignored, f".dockerignore lets {must} in"
    for source in copied:
        assert not is_ignored(source, ignored), f".dockerignore drops {source}, which the Dockerfile copies"


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def is_ignored(path: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        bare = pattern.lstrip("!")
        if fnmatch.fnmatch(path, bare) or fnmatch.fnmatch(path, bare.removeprefix("**/")):
            ignored = not negate
        elif "/" in path and is_ignored(path.rsplit("/", 1)[0], [pattern]):
            ignored = not negate
    return ignored


# ------------------------------------------------------------------------------------- running what it runs
def build_stage(tmp_path: Path) -> Path:
    """The Dockerfile's build stage without Docker: the files it copies (less what .dockerignore drops), a
    wheel built from them, unpacked as `pip install` would lay it out. Returns the folder to import from."""
    src = tmp_path / "src"
    src.mkdir()
    ignored = dockerignore()
    for word, args in stages()[0]:
        if word != "COPY":
            continue
        *sources, _ = args.split()
        for source in sources:
            origin = ROOT / source
            if origin.is_file():
                shutil.copy2(origin, src / source)
                continue
            for path in origin.rglob("*"):
                relative = path.relative_to(ROOT).as_posix()
                if path.is_file() and not is_ignored(relative, ignored):
                    (src / relative).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, src / relative)
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels)]
    p = subprocess.run([*pip, str(src)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    [wheel] = wheels.glob("nastavnik-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
        names = set(archive.namelist())
    # Every module, form, locale, programme and migration of the source tree is in the image.
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    for package in packages:
        folder = ROOT / package.replace(".", "/")
        for path in folder.rglob("*"):
            if path.suffix in (".py", ".yaml", ".mako") and "__pycache__" not in path.parts:
                assert path.relative_to(ROOT).as_posix() in names, f"the image would lack {path}"
    [entry_points] = site.glob("nastavnik-*.dist-info/entry_points.txt")
    assert "nastavnik = bot.cli:main" in entry_points.read_text()
    return site


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_PREFIXES)}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def run_image_command(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    assert args[0] == "nastavnik"
    script = BIN / "nastavnik"
    assert script.exists(), f"{script}: install the project (pip install -e '.[dev]')"
    return subprocess.run(
        [str(script), *args[1:]], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


async def wait_for(condition, proc: asyncio.subprocess.Process, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.returncode is not None:
            raise AssertionError(f"the bot exited ({proc.returncode}) before {what}")
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        await asyncio.sleep(0.1)


async def stop(proc: asyncio.subprocess.Process) -> str:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
    _, err = await proc.communicate()
    return err.decode()


def start_update(update_id: int, user_id: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Anna"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Anna", "language_code": "ru"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


@pytest.mark.e2e
@pytest.mark.slow
async def test_the_image_built_without_docker_starts_answers_and_stops_on_sigterm(tmp_path):
    """The wheel of the build stage, started with the image's ENTRYPOINT + CMD in a folder laid out like the
    image's /app (no DATABASE_URL: the default SQLite file in data/), answers /start against the fake Bot
    API; the image's HEALTHCHECK says healthy; SIGTERM ends it with 0."""
    site = await asyncio.to_thread(build_stage, tmp_path)
    final = dict(stages()[-1])
    command = exec_form(final["ENTRYPOINT"]) + exec_form(final["CMD"])
    health = exec_form(final["HEALTHCHECK"].split(" CMD ", 1)[1])
    app = tmp_path / "app"
    (app / "data").mkdir(parents=True)  # the image's `mkdir -p /app/data`, the volume
    fake = FakeTelegram()
    runner, base = await serve_http(fake)
    env = clean_env(PYTHONPATH=str(site), BOT_TOKEN=fake.token, BOT_API_URL=base, WEB_PORT=str(free_port()))
    where = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", "import bot.cli, locales; print(bot.cli.__file__, locales.__file__)"],
        env=env,
        cwd=app,
        capture_output=True,
        text=True,
    )
    assert where.stdout.split() and all(p.startswith(str(site)) for p in where.stdout.split()), where
    proc = await asyncio.create_subprocess_exec(
        str(BIN / command[0]),
        *command[1:],
        cwd=app,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await wait_for(lambda: any(r.method == "getUpdates" for r in fake.requests), proc, "polling")
        fake.push_update(start_update(fake.next_update_id(), 4242))
        await wait_for(lambda: fake.delivered_to(4242), proc, "answer to /start")
        answer = fake.delivered_to(4242)[0].text or ""
        # The Russian texts came with the wheel: words, not a locale key.
        assert re.search("[а-яё]{4}", answer) and not re.fullmatch(r"[\w.]+", answer), answer
        healthy = await asyncio.to_thread(run_image_command, health, env, app)
        assert healthy.returncode == 0 and '"ok": true' in healthy.stdout, healthy.stderr
    finally:
        logs = await stop(proc)
        await runner.cleanup()
    assert proc.returncode == 0, logs[-3000:]
    assert "Traceback" not in logs and fake.token not in logs
    assert (app / "data" / "nastavnik.db").is_file()
    down = await asyncio.to_thread(run_image_command, health, env, app)
    assert down.returncode == 1 and down.stderr.startswith("nastavnik: unhealthy"), down


@pytest.mark.e2e
async def test_compose_services_run_migrate_then_a_webhook_bot_that_answers_and_stops(
    tmp_path, pg_url, redis_db
):
    """What compose runs, with its environment: `migrate` on an empty PostgreSQL database, then a bot
    (bot1's environment, image CMD) in webhook mode with Redis. It registers DOMAIN's /webhook with its
    secret, answers an update posted there, passes the image's HEALTHCHECK, and exits 0 on SIGTERM. Only the
    hosts differ (db, redis and the port 8080 are those of the compose network)."""
    from aiohttp import ClientSession

    services = compose()["services"]
    fake = FakeTelegram()
    runner, base = await serve_http(fake)
    secret = "district-secret-" + "x" * 30
    values = {**env_example(), "POSTGRES_PASSWORD": "pw", "BOT_TOKEN": fake.token, "WEBHOOK_SECRET": secret}
    port = free_port()
    env = clean_env(**{k: v for k, v in values.items() if v}, BOT_API_URL=base)
    env.update(service_env("bot1", values))
    env.update(DATABASE_URL=pg_url, REDIS_URL=await redis_db(9), WEBHOOK_PORT=str(port))
    final = dict(stages()[-1])
    entrypoint = exec_form(final["ENTRYPOINT"])
    health = exec_form(final["HEALTHCHECK"].split(" CMD ", 1)[1])

    migrated = await asyncio.to_thread(
        run_image_command, entrypoint + services["migrate"]["command"], env, tmp_path
    )
    assert migrated.returncode == 0 and "tables created" in migrated.stdout, migrated.stderr
    command = entrypoint + services["bot1"].get("command", exec_form(final["CMD"]))
    proc = await asyncio.create_subprocess_exec(
        str(BIN / command[0]),
        *command[1:],
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await wait_for(lambda: fake.sent("setWebhook"), proc, "setWebhook")
        registered = fake.sent("setWebhook")[-1].params
        assert registered["url"] == f"https://{values['DOMAIN']}{WEBHOOK_PATH}"
        assert registered["secret_token"] == secret
        healthy = await asyncio.to_thread(run_image_command, health, env, tmp_path)
        assert healthy.returncode == 0, healthy.stderr
        async with ClientSession() as http:
            url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
            headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
            async with http.post(url, json=start_update(1, 5151), headers=headers) as resp:
                assert resp.status == 200
        await wait_for(lambda: fake.delivered_to(5151), proc, "answer to /start")
    finally:
        logs = await stop(proc)
        await runner.cleanup()
    assert proc.returncode == 0, logs[-3000:]
    assert "Traceback" not in logs and fake.token not in logs and secret not in logs
