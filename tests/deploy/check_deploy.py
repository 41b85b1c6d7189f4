#!/usr/bin/env python3
"""Static checks of the docker-compose deployment, for CI machines without Docker.

    python3 tests/deploy/check_deploy.py [--root DIR] [--stowaway PATH/TO/stowaway]

Reads DIR/docker-compose.yml, DIR/.env.example, DIR/deploy/Dockerfile, DIR/.dockerignore and
DIR/README.md (DIR defaults to the repository), and checks that they agree with each other and
with the binary:

- the compose file parses (duplicate keys are errors, as in docker compose) and every
  ${VARIABLE} it interpolates is in .env.example (and every .env.example entry is used);
- every service has an image or a build and a restart policy: one-shot services (those others
  wait for with service_completed_successfully, and `stowaway migrate`) "no" or on-failure,
  long-running ones unless-stopped or always and a health check;
- depends_on names existing services, with conditions their targets can meet; every named
  volume is declared (and every declared one used);
- Stowaway's services (built from deploy/Dockerfile) run a real subcommand, get only
  environment variables the binary documents for that subcommand (README "Configuration", or
  `stowaway <subcommand> --help` with --stowaway), get what they need to start, publish and
  expose only the ports they listen on (STOWAWAY_LISTEN, STOWAWAY_OPS_LISTEN), check their
  health with `stowaway probe` on such a port (the image has no curl), and may take longer to
  stop than their shutdown grace;
- the Dockerfile's runtime stage runs as a non-root USER, installs ca-certificates, copies only
  the stowaway binary and runs it as its ENTRYPOINT; its build arguments are documented in the
  README's "Deploy with docker-compose" section; .dockerignore keeps build output and secrets
  out of the context and lets in what the Dockerfile copies.

Prints each problem on stderr and exits 1 when there is any, 0 when there is none, 2 when it
cannot run (PyYAML missing).
"""
import argparse
import fnmatch
import ipaddress
import os
import re
import shlex
import subprocess
import sys
from urllib.parse import urlsplit

try:
    import yaml
except ImportError:  # pragma: no cover
    print(
        "check_deploy: PyYAML is not installed (python3 -m pip install PyYAML; "
        "scripts/install-services.sh installs it with moto)",
        file=sys.stderr,
    )
    sys.exit(2)

COMPOSE = "docker-compose.yml"
ENV_EXAMPLE = ".env.example"
DOCKERFILE = "deploy/Dockerfile"
DOCKERIGNORE = ".dockerignore"
README = "README.md"
DEPLOY_SECTION = "## Deploy with docker-compose"

# The subcommands a Stowaway container may run (`stowaway <subcommand>`).
SUBCOMMANDS = {"migrate", "api", "worker", "notifier", "serve", "probe", "workflow"}
ONE_SHOT_SUBCOMMANDS = {"migrate", "probe", "workflow"}
# What each part needs to start at all (it exits with a configuration error otherwise).
REQUIRED_ENV = {
    "migrate": ["DATABASE_URL"],
    "api": ["DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    "serve": ["DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    "worker": ["DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    "notifier": ["DATABASE_URL"],
    "workflow": ["DATABASE_URL", "STOWAWAY_DEFAULT_BUCKET"],
}
# Where an API takes bucket events, and the variable holding the bearer token they must carry.
EVENTS_PATH = "/events/s3"
EVENTS_TOKEN = "STOWAWAY_EVENTS_TOKEN"
WEBHOOK_PREFIX = "MINIO_NOTIFY_WEBHOOK_"
# Parts that serve the API (and its /healthz, /readyz, /metrics) on STOWAWAY_LISTEN.
API_PARTS = {"api", "serve"}
DEFAULT_LISTEN = "127.0.0.1:8080"
DEFAULT_SHUTDOWN_GRACE_SECS = 20
PROBE_PATHS = {"/healthz", "/readyz"}
DEPENDS_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
# What .dockerignore must keep out of the build context.
MUST_IGNORE = [".git", "target", "fuzz/target", "tests/sdk/node_modules", ".env"]


class Problems:
    def __init__(self):
        self.items = []

    def add(self, where, message):
        self.items.append(f"{where}: {message}")


# --- YAML ------------------------------------------------------------------------------------


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys in a mapping, as docker compose does."""


def _construct_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r} (first at line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    loader.flatten_mapping(node)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# --- interpolation (compose's ${VAR}, ${VAR:-default}, ${VAR:?error}, $$) -----------------

INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^{}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*)|(?P<invalid>))"
)
BRACED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>.*))?$", re.S)


def references(text):
    """The variables a string interpolates, with the operator each one uses ('' for none)."""
    found = []
    for m in INTERPOLATION.finditer(text):
        if m.group("escaped"):
            continue
        if m.group("named"):
            found.append((m.group("named"), ""))
        elif m.group("braced") is not None:
            b = BRACED.match(m.group("braced"))
            if not b:
                found.append((None, m.group(0)))
            else:
                found.append((b.group("name"), b.group("op") or ""))
                found.extend(references(b.group("arg") or ""))
        else:
            found.append((None, m.group(0)))
    return found


def interpolate(text, env):
    def sub(m):
        if m.group("escaped"):
            return "$"
        if m.group("named"):
            return env.get(m.group("named"), "")
        b = BRACED.match(m.group("braced") or "")
        if not b:
            return m.group(0)
        name, op, arg = b.group("name"), b.group("op") or "", interpolate(b.group("arg") or "", env)
        value = env.get(name)
        if op == ":-":
            return value if value else arg
        if op == "-":
            return value if value is not None else arg
        if op == ":+":
            return arg if value else ""
        if op == "+":
            return arg if value is not None else ""
        return value or ""

    return INTERPOLATION.sub(sub, text)


def walk_strings(node, path=()):
    """Every string value (not key) in a parsed YAML tree, with its path."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk_strings(v, path + (str(k),))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk_strings(v, path + (str(i),))
    elif isinstance(node, str):
        yield path, node


def resolve(node, env):
    if isinstance(node, dict):
        return {k: resolve(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, env) for v in node]
    if isinstance(node, str):
        return interpolate(node, env)
    return node


def parse_dotenv(text, where, problems):
    env = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if not m:
            problems.add(f"{where}:{number}", f"not a NAME=value line: {line!r}")
            continue
        name, value = m.group(1), m.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        else:
            value = re.split(r"\s+#", value, 1)[0].strip()
        if name in env:
            problems.add(f"{where}:{number}", f"{name} is set twice")
        env[name] = value
    return env


# --- the README's Configuration table ---------------------------------------------------------


def section(readme, heading):
    lines = readme.splitlines()
    try:
        start = next(i for i, l in enumerate(lines) if l.strip() == heading)
    except StopIteration:
        return None
    out = []
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        out.append(line)
    return "\n".join(out)


def documented_env(readme, problems):
    """{VARIABLE: set of subcommands it is documented for, or None for every one}."""
    table = section(readme, "## Configuration")
    if table is None:
        problems.add(README, "has no '## Configuration' section to check environment variables against")
        return {}
    documented = {}
    for line in table.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or set(cells[0]) <= set("-: "):
            continue
        names = re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0])
        used_by = cells[1]
        parts = set(re.findall(r"`([a-z][a-z-]*)`", used_by))
        if used_by.lower().startswith("all"):
            scope = ("all-but", parts)
        else:
            scope = ("only", parts)
        for name in names:
            documented[name] = scope
    if not documented:
        problems.add(README, "the '## Configuration' table lists no variables")
    return documented


def readme_allows(scope, part):
    kind, parts = scope
    return part not in parts if kind == "all-but" else part in parts


class Binary:
    """`stowaway <subcommand> --help`, cached: which subcommands exist, which variables each reads."""

    def __init__(self, path):
        self.path = path
        self.cache = {}

    def help(self, sub):
        if sub not in self.cache:
            try:
                out = subprocess.run(
                    [self.path, sub, "--help"], capture_output=True, text=True, timeout=60
                )
                self.cache[sub] = (out.returncode, out.stdout + out.stderr)
            except OSError as e:
                self.cache[sub] = (-1, str(e))
        return self.cache[sub]

    def has(self, sub):
        return self.help(sub)[0] == 0

    def env_names(self, sub):
        code, text = self.help(sub)
        return set(re.findall(r"\[env:\s*([A-Z][A-Z0-9_]*)", text)) if code == 0 else set()

    def possible_values(self, sub):
        """{VARIABLE: [values]} for the variables whose help lists `[possible values: ...]`."""
        code, text = self.help(sub)
        out = {}
        if code == 0:
            for line in text.splitlines():
                env = re.search(r"\[env:\s*([A-Z][A-Z0-9_]*)", line)
                values = re.search(r"\[possible values: ([^\]]*)\]", line)
                if env and values:
                    out[env.group(1)] = [v.strip() for v in values.group(1).split(",")]
        return out


# --- compose helpers --------------------------------------------------------------------------


def as_command(value):
    if value is None:
        return None
    if isinstance(value, str):
        return shlex.split(value)
    return [str(v) for v in value]


def environment_of(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        out = {}
        for item in env:
            name, _, value = str(item).partition("=")
            out[name] = value if "=" in str(item) else None
        return out
    return {str(k): (None if v is None else str(v).lower() if isinstance(v, bool) else str(v)) for k, v in env.items()}


def depends_of(service):
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {d: "service_started" for d in deps}
    return {k: ((v or {}).get("condition") or "service_started") for k, v in deps.items()}


def port_of_listen(value):
    """('0.0.0.0', 8080) from '0.0.0.0:8080' or '[::]:8080'."""
    m = re.match(r"^\[?([^\]]*?)\]?:(\d+)$", value or "")
    return (m.group(1), int(m.group(2))) if m else None


def is_loopback(host):
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def container_ports(service, where, problems):
    """[(host_ip, host_port or None, container_port)] from `ports` (short and long syntax)."""
    out = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            target, published = str(entry.get("target", "")), str(entry.get("published") or "")
            if not target.isdigit() or (published and not published.isdigit()):
                problems.add(where, f"cannot read the port mapping {entry!r} (ranges are not supported here)")
                continue
            out.append((entry.get("host_ip", ""), int(published) if published else None, int(target)))
            continue
        text = str(entry).split("/")[0]
        m = re.match(r"^(?:(?:\[(?P<ip6>[^\]]+)\]|(?P<ip>[\d.]+)):)?(?:(?P<host>\d+):)?(?P<target>\d+)$", text)
        if not m:
            problems.add(where, f"cannot read the port mapping {entry!r} (ranges are not supported here)")
            continue
        out.append((m.group("ip6") or m.group("ip") or "", int(m.group("host")) if m.group("host") else None, int(m.group("target"))))
    return out


def duration_secs(value):
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    total, rest = 0.0, str(value).strip()
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", rest):
        total += float(number) * units[unit]
    if not re.fullmatch(r"(?:\d+(?:\.\d+)?(?:ms|us|h|m|s))+", rest):
        return None
    return total


# --- the checks ------------------------------------------------------------------------------


def check_interpolation(raw, dotenv, problems):
    used = {}
    for path, text in walk_strings(raw):
        for name, op in references(text):
            where = f"{COMPOSE}: {'.'.join(path)}"
            if name is None:
                problems.add(where, f"cannot read the interpolation {op!r} (nested or malformed)")
                continue
            used.setdefault(name, set()).add(op)
    for name in sorted(used):
        if name not in dotenv:
            problems.add(COMPOSE, f"interpolates ${{{name}}}, which {ENV_EXAMPLE} does not list")
        elif any(op in (":?", "?") for op in used[name]) and not dotenv[name]:
            problems.add(ENV_EXAMPLE, f"{name} is required by {COMPOSE} (${{{name}:?...}}) but empty")
    for name in sorted(set(dotenv) - set(used)):
        problems.add(ENV_EXAMPLE, f"lists {name}, which {COMPOSE} never uses")


def stowaway_services(services):
    """Names of the services that run Stowaway's image (built from deploy/Dockerfile)."""
    built, images = set(), set()
    for name, svc in services.items():
        build = svc.get("build")
        if build is None:
            continue
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        path = os.path.normpath(os.path.join(context, dockerfile))
        if path == os.path.normpath(DOCKERFILE):
            built.add(name)
            if svc.get("image"):
                images.add(svc["image"])
    return built | {n for n, s in services.items() if s.get("image") in images}


def check_compose(root, config, readme, binary, problems):
    services = config.get("services")
    if not isinstance(services, dict) or not services:
        problems.add(COMPOSE, "has no services")
        return
    ours = stowaway_services(services)
    if not ours:
        problems.add(COMPOSE, f"no service is built from {DOCKERFILE}")
    documented = documented_env(readme, problems)
    declared_volumes = set((config.get("volumes") or {}).keys())
    used_volumes = set()
    host_ports = {}

    # Which services are one-shot: the ones others wait to complete, and `stowaway migrate`.
    completed_targets = {
        dep for svc in services.values() for dep, cond in depends_of(svc).items()
        if cond == "service_completed_successfully"
    }
    parts = {}
    for name in ours:
        command = as_command(services[name].get("command"))
        parts[name] = command[0] if command else None
    one_shot = completed_targets | {n for n, p in parts.items() if p in ONE_SHOT_SUBCOMMANDS}

    for name, svc in services.items():
        where = f"{COMPOSE}: service {name!r}"
        if not isinstance(svc, dict):
            problems.add(where, "is not a mapping")
            continue
        if not svc.get("image") and not svc.get("build"):
            problems.add(where, "has neither image nor build")
        if "build" in svc:
            build = svc["build"]
            context = build if isinstance(build, str) else build.get("context", ".")
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            if not os.path.isfile(os.path.join(root, context, dockerfile)):
                problems.add(where, f"builds from {os.path.join(context, dockerfile)}, which does not exist")

        # Restart policy and health check.
        restart = svc.get("restart")
        if restart is False:
            problems.add(where, 'has restart: no unquoted, which YAML reads as false; write restart: "no"')
        elif restart is None:
            problems.add(where, "has no restart policy (one-shot: \"no\" or on-failure; long-running: unless-stopped)")
        elif name in one_shot:
            if not (restart == "no" or str(restart).startswith("on-failure")):
                problems.add(where, f'is one-shot but has restart: {restart}; use "no" or on-failure')
        elif restart not in ("unless-stopped", "always"):
            problems.add(where, f"is long-running but has restart: {restart}; use unless-stopped")
        health = svc.get("healthcheck")
        if name not in one_shot:
            test = (health or {}).get("test")
            if not health or (health or {}).get("disable") or not test or as_command(test) in (["NONE"],):
                problems.add(where, "is long-running but has no health check")

        # depends_on.
        for dep, cond in depends_of(svc).items():
            if dep not in services:
                problems.add(where, f"depends on {dep!r}, which is not a service")
                continue
            if cond not in DEPENDS_CONDITIONS:
                problems.add(where, f"depends on {dep!r} with the unknown condition {cond!r}")
            if cond == "service_healthy" and not (services[dep] or {}).get("healthcheck"):
                problems.add(where, f"waits for {dep!r} to be healthy, but {dep!r} has no health check")
            if services[dep].get("profiles") and not svc.get("profiles"):
                problems.add(where, f"depends on {dep!r}, which runs only under a profile")

        # Named volumes.
        for volume in svc.get("volumes") or []:
            if isinstance(volume, dict):
                if volume.get("type", "volume") == "volume" and volume.get("source"):
                    used_volumes.add(volume["source"])
                    if volume["source"] not in declared_volumes:
                        problems.add(where, f"uses the volume {volume['source']!r}, which is not declared under volumes:")
                continue
            source = str(volume).split(":")[0]
            if ":" in str(volume) and source and not source.startswith((".", "/", "~", "$")):
                used_volumes.add(source)
                if source not in declared_volumes:
                    problems.add(where, f"uses the volume {source!r}, which is not declared under volumes:")

        # Host ports must not collide.
        for host_ip, host_port, _ in container_ports(svc, where, problems):
            if host_port is None:
                continue
            key = (host_ip or "0.0.0.0", host_port)
            if key in host_ports:
                problems.add(where, f"publishes host port {host_port}, as {host_ports[key]!r} does")
            host_ports[key] = name

        if name in ours:
            check_stowaway_service(name, svc, parts[name], name in one_shot, documented, binary, problems)

    for volume in sorted(declared_volumes - used_volumes):
        problems.add(COMPOSE, f"declares the volume {volume!r}, which no service uses")
    check_bucket_events(services, parts, problems)


def check_bucket_events(services, parts, problems):
    """MinIO's webhook targets (MINIO_NOTIFY_WEBHOOK_*_<ID>, triggers spec §3.5, §3.7) reach a
    Stowaway API's /events/s3 on the port it listens on, with its token, queue to a volume, and
    `mc event add` subscribes the bucket to the target's ARN; a `stowaway workflow` one-shot gives
    the events an Active workflow of that bucket to start."""
    apis = {n: environment_of(services[n]) for n, p in parts.items() if p in API_PARTS}
    for name, svc in services.items():
        env = environment_of(svc)
        for key, endpoint in env.items():
            if not key.startswith(WEBHOOK_PREFIX + "ENDPOINT_"):
                continue
            target = key[len(WEBHOOK_PREFIX + "ENDPOINT_"):]
            where = f"{COMPOSE}: service {name!r}: webhook target {target!r}"
            setting = lambda field: env.get(f"{WEBHOOK_PREFIX}{field}_{target}")
            if (setting("ENABLE") or "").lower() != "on":
                problems.add(where, f"is not enabled ({WEBHOOK_PREFIX}ENABLE_{target}: on)")
            url = urlsplit(endpoint or "")
            api_env = apis.get(url.hostname or "")
            if api_env is None:
                problems.add(where, f"posts to {endpoint!r}, whose host is no Stowaway API service ({', '.join(sorted(apis)) or 'none'})")
                continue
            listen = port_of_listen(api_env.get("STOWAWAY_LISTEN") or DEFAULT_LISTEN)
            if listen is None or (url.port or 80) != listen[1]:
                problems.add(where, f"posts to port {url.port or 80}, but {url.hostname!r} listens on {api_env.get('STOWAWAY_LISTEN') or DEFAULT_LISTEN}")
            if url.path != EVENTS_PATH:
                problems.add(where, f"posts to {url.path or '/'!r}; Stowaway takes bucket events at {EVENTS_PATH}")
            token = setting("AUTH_TOKEN") or ""
            if not api_env.get(EVENTS_TOKEN):
                problems.add(where, f"has nowhere to go: {url.hostname!r} sets no {EVENTS_TOKEN} and refuses every event")
            elif token != api_env.get(EVENTS_TOKEN):
                problems.add(where, f"sends an auth token other than {url.hostname!r}'s {EVENTS_TOKEN}")
            elif len(token.split()) != 1:
                problems.add(where, "has an auth token with spaces: MinIO then sends it verbatim, not as Bearer")
            queue_dir = setting("QUEUE_DIR")
            mounts = [str(v).split(":")[1] for v in svc.get("volumes") or [] if isinstance(v, str) and ":" in v]
            if not queue_dir:
                problems.add(where, "has no queue_dir: MinIO drops every event the API misses")
            elif not any(queue_dir == m or queue_dir.startswith(m.rstrip("/") + "/") for m in mounts):
                problems.add(where, f"queues events in {queue_dir}, which is on no volume (lost with the container)")
            arn = f"arn:minio:sqs::{target}:webhook"
            subscribed = set()
            for other in services.values():
                command = as_command(other.get("command")) or []
                if command[:2] == ["event", "add"] and arn in command and len(command) > 2:
                    subscribed.add(command[2].split("/", 1)[-1])
            if not subscribed:
                problems.add(where, f"has no `mc event add <alias>/<bucket> {arn}` subscribing a bucket")
            buckets = {environment_of(services[n]).get("STOWAWAY_DEFAULT_BUCKET") for n, p in parts.items() if p == "workflow"}
            for bucket in sorted(subscribed - buckets):
                problems.add(where, f"sends bucket {bucket!r}'s events, but no `stowaway workflow` one-shot gives that bucket a workflow")


def check_stowaway_service(name, svc, part, one_shot, documented, binary, problems):
    where = f"{COMPOSE}: service {name!r}"
    command = as_command(svc.get("command"))
    if svc.get("entrypoint") is not None:
        problems.add(where, "overrides the image's entrypoint (stowaway); set only command")
    if not command:
        problems.add(where, "has no command: name the part it runs (" + ", ".join(sorted(SUBCOMMANDS)) + ")")
        return
    if part not in SUBCOMMANDS:
        problems.add(where, f"runs `stowaway {part}`, which is not a subcommand ({', '.join(sorted(SUBCOMMANDS))})")
        return
    if binary and not binary.has(part):
        problems.add(where, f"runs `stowaway {part}`, but `stowaway {part} --help` fails: the binary has no such subcommand")
    if svc.get("container_name"):
        problems.add(where, "sets container_name, which stops `docker compose up --scale`")

    # Environment: documented for this part, and enough to start.
    env = environment_of(svc)
    help_env = binary.env_names(part) if binary else set()
    for var in sorted(env):
        scope = documented.get(var)
        if scope is not None and readme_allows(scope, part):
            continue
        if var in help_env:
            continue
        if scope is None:
            problems.add(where, f"sets {var}, which the binary does not document (README \"Configuration\""
                         + (f" or `stowaway {part} --help`" if binary else "") + ")")
        else:
            problems.add(where, f"sets {var}, which README \"Configuration\" documents for "
                         + ", ".join(f"`{p}`" for p in sorted(scope[1])) + f" but not for `{part}`")
    if binary:
        for var, values in binary.possible_values(part).items():
            if env.get(var) is not None and env[var] not in values:
                problems.add(where, f"sets {var}={env[var]}, but `stowaway {part}` accepts only {', '.join(values)}")
    for var in REQUIRED_ENV.get(part, []):
        if not env.get(var):
            problems.add(where, f"`stowaway {part}` needs {var}, which is not set")

    listens = {}
    if part in API_PARTS:
        listen = env.get("STOWAWAY_LISTEN") or DEFAULT_LISTEN
        listens["STOWAWAY_LISTEN"] = listen
        addr = port_of_listen(listen)
        if addr and not is_loopback(addr[0]):
            has_key = env.get("STOWAWAY_SECRET_ID") and env.get("STOWAWAY_SECRET_KEY")
            if not has_key and not env.get("STOWAWAY_KEYS_FILE") and (env.get("STOWAWAY_AUTH") or "").lower() not in ("off", "false"):
                problems.add(where, f"listens on {listen} without STOWAWAY_SECRET_ID/STOWAWAY_SECRET_KEY "
                             "(or STOWAWAY_KEYS_FILE, or STOWAWAY_AUTH=off): the API refuses to start")
    if env.get("STOWAWAY_OPS_LISTEN"):
        listens["STOWAWAY_OPS_LISTEN"] = env["STOWAWAY_OPS_LISTEN"]
    ports = set()
    for var, value in listens.items():
        addr = port_of_listen(value)
        if not addr:
            problems.add(where, f"{var}={value!r} is not host:port")
            continue
        if is_loopback(addr[0]):
            problems.add(where, f"{var}={value} listens on loopback inside the container: nothing outside it can connect")
        ports.add(addr[1])

    # Published and exposed ports are ones it listens on.
    for _, host_port, target in container_ports(svc, where, problems):
        if target not in ports:
            problems.add(where, f"publishes container port {target}, but listens on "
                         + (", ".join(f"{v} ({k})" for k, v in listens.items()) or "no port"))
        if host_port is not None and part not in API_PARTS:
            problems.add(where, f"publishes host port {host_port}: replicas (--scale) cannot share it; use expose")
    for item in svc.get("expose") or []:
        target = str(item).split("/")[0]
        if not target.isdigit():
            problems.add(where, f"cannot read the exposed port {item!r} (ranges are not supported here)")
            continue
        if int(target) not in ports:
            problems.add(where, f"exposes port {target}, but listens on "
                         + (", ".join(f"{v} ({k})" for k, v in listens.items()) or "no port"))

    if one_shot:
        return
    # Health check: `stowaway probe` (the runtime image has no curl) on a port it listens on.
    test = as_command((svc.get("healthcheck") or {}).get("test")) or []
    if test and test[0] == "CMD-SHELL":
        test = shlex.split(" ".join(test[1:]))
    elif test and test[0] == "CMD":
        test = test[1:]
    if len(test) < 3 or os.path.basename(test[0]) != "stowaway" or test[1] != "probe":
        problems.add(where, f"health check runs {' '.join(test) or 'nothing'}; the image has only "
                     "`stowaway probe http://127.0.0.1:<port>/readyz` (no curl or wget)")
    else:
        if binary and not binary.has("probe"):
            problems.add(where, "health check runs `stowaway probe`, but `stowaway probe --help` fails: "
                         "the binary has no such subcommand")
        url = urlsplit(test[2])
        try:
            port = url.port or (443 if url.scheme == "https" else 80)
        except ValueError:
            port = None
        if url.scheme != "http" or not is_loopback(url.hostname or "") or port is None or url.port is None:
            problems.add(where, f"health check probes {test[2]}; probe http://127.0.0.1:<port>/... inside the container")
        if port not in ports:
            problems.add(where, f"health check probes port {port}, but the service listens on "
                         + (", ".join(f"{v} ({k})" for k, v in listens.items()) or "no port"
                            + " (set STOWAWAY_OPS_LISTEN)"))
        if url.path not in PROBE_PATHS:
            problems.add(where, f"health check probes {url.path}; use one of {', '.join(sorted(PROBE_PATHS))}")

    grace_text = env.get("STOWAWAY_SHUTDOWN_GRACE_SECS")
    try:
        grace = float(grace_text) if grace_text else DEFAULT_SHUTDOWN_GRACE_SECS
    except ValueError:
        problems.add(where, f"STOWAWAY_SHUTDOWN_GRACE_SECS={grace_text!r} is not a number")
        grace = DEFAULT_SHUTDOWN_GRACE_SECS
    stop = svc.get("stop_grace_period")
    stop_secs = duration_secs(stop) if stop is not None else 10.0
    if stop_secs is None:
        problems.add(where, f"stop_grace_period {stop!r} is not a duration like 30s")
    elif stop_secs <= grace:
        problems.add(where, f"stop_grace_period is {stop_secs:g} s"
                     + (" (docker's default)" if stop is None else "")
                     + f", not more than its {grace:g} s shutdown grace: docker would kill it mid-drain")


def dockerfile_instructions(text):
    """[(line number, INSTRUCTION, arguments)], continuation lines joined, comments dropped."""
    out, buffer, start = [], "", None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue
        if start is None:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        buffer += stripped
        word, _, args = buffer.partition(" ")
        out.append((start, word.upper(), args.strip()))
        buffer, start = "", None
    return out


def exec_form(args):
    args = args.strip()
    if args.startswith("["):
        try:
            return [str(a) for a in yaml.safe_load(args)]
        except yaml.YAMLError:
            return None
    return shlex.split(args)


def check_dockerfile(root, text, compose_config, readme, problems):
    instructions = dockerfile_instructions(text)
    stages = []  # [(from line, image, name, [instructions])]
    global_args = set()
    for number, word, args in instructions:
        if word == "FROM":
            rest = [w for w in args.split() if not w.startswith("--")]  # without --platform
            name = rest[2] if len(rest) >= 3 and rest[1].upper() == "AS" else None
            stages.append((number, rest[0] if rest else "", name, []))
        elif not stages:
            if word == "ARG":
                global_args.add(args.split("=")[0].strip())
        else:
            stages[-1][3].append((number, word, args))
    if not stages:
        problems.add(DOCKERFILE, "has no FROM")
        return
    stage_names = {s[2] for s in stages if s[2]}
    all_args = set(global_args)
    for _, _, _, body in stages:
        all_args |= {a.split("=")[0].strip() for n, w, a in body if w == "ARG"}

    # Build stages: the toolchain needs cmake and curl's headers; dependencies fetched from the
    # lock file before the sources are copied; every COPY source exists and is in the context.
    runs = [(n, a) for _, _, _, body in stages[:-1] for n, w, a in body if w == "RUN"]
    installs = " ".join(a for _, a in runs if "apt-get" in a and "install" in a)
    for package in ("cmake", "libcurl4-openssl-dev"):
        if not re.search(rf"(?<![\w.-]){re.escape(package)}(?![\w.-])", installs):
            problems.add(DOCKERFILE, f"no build stage installs {package} (librdkafka's vendored cmake build needs it)")
    fetch = next((n for n, a in runs if re.search(r"\bcargo fetch\b", a)), None)
    build = next((n for n, a in runs if re.search(r"\bcargo build\b", a)), None)
    if fetch is None:
        problems.add(DOCKERFILE, "has no `cargo fetch` step (fetch the locked dependencies in their own layer)")
    if build is None:
        problems.add(DOCKERFILE, "has no `cargo build` step")
    for n, a in runs:
        if re.search(r"\bcargo (fetch|build)\b", a) and "--locked" not in a:
            problems.add(f"{DOCKERFILE}:{n}", "runs cargo without --locked (the image must build what Cargo.lock says)")
    if fetch is not None and build is not None:
        def copies_sources(args):
            sources = [w for w in exec_form(args) or [] if not w.startswith("--")][:-1]
            return any(s.rstrip("/") in (".", "crates") or s.startswith("crates/") for s in sources)

        build_stage = next(s for s in stages if any(n == build for n, _, _ in s[3]))
        source_copy = next(
            (n for n, w, a in build_stage[3] if w in ("COPY", "ADD") and "--from" not in a and copies_sources(a)),
            None,
        )
        if source_copy is not None and source_copy < fetch:
            problems.add(f"{DOCKERFILE}:{source_copy}", "copies the sources before `cargo fetch`: "
                         "every code change would fetch the dependencies again")

    ignore = []
    ignore_path = os.path.join(root, DOCKERIGNORE)
    if os.path.isfile(ignore_path):
        ignore = [l.strip() for l in open(ignore_path, encoding="utf-8") if l.strip() and not l.strip().startswith("#")]
    else:
        problems.add(DOCKERIGNORE, "is missing")

    def ignored(path):
        verdict = False
        for pattern in ignore:
            negate = pattern.startswith("!")
            p = pattern[1:] if negate else pattern
            p = p.strip("/")
            if p.startswith("**/"):
                p = p[3:]
            if fnmatch.fnmatch(path, p) or path.startswith(p + "/"):
                verdict = not negate
        return verdict

    for must in MUST_IGNORE:
        if not ignored(must):
            problems.add(DOCKERIGNORE, f"does not exclude {must}")
    for _, _, _, body in stages:
        for number, word, args in body:
            if word not in ("COPY", "ADD") or "--from" in args:
                continue
            words = [w for w in exec_form(args) or [] if not w.startswith("--")]
            for source in words[:-1]:
                source = source.rstrip("/") or "."
                if source != "." and not os.path.exists(os.path.join(root, source)):
                    problems.add(f"{DOCKERFILE}:{number}", f"copies {source}, which does not exist")
                elif source != "." and ignored(source):
                    problems.add(f"{DOCKERFILE}:{number}", f"copies {source}, which {DOCKERIGNORE} excludes")

    # The runtime stage.
    number, image, _, body = stages[-1]
    where = f"{DOCKERFILE} (runtime stage, line {number})"
    if image.startswith("rust:") or image in stage_names:
        problems.add(where, f"starts FROM {image}; the runtime stage should be a small base such as debian:bookworm-slim")
    users = [a for _, w, a in body if w == "USER"]
    if not users:
        problems.add(where, "has no USER: the image would run as root")
    elif users[-1].split(":")[0] in ("root", "0"):
        problems.add(where, f"runs as USER {users[-1]}; use a non-root user")
    run_text = " ".join(a for _, w, a in body if w == "RUN")
    if not re.search(r"(apt-get install|apk add)[^&;|]*\bca-certificates\b", run_text):
        problems.add(where, "does not install ca-certificates (https S3 endpoints and callback URLs need them)")
    if any(w == "ADD" for _, w, _ in body):
        problems.add(where, "uses ADD; copy only the binary, with COPY --from")
    copies = [(n, a) for n, w, a in body if w == "COPY"]
    binaries = []
    for n, a in copies:
        words = exec_form(a) or []
        sources = [w for w in words if not w.startswith("--")][:-1]
        from_stage = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
        if from_stage is None or len(sources) != 1 or os.path.basename(sources[0].rstrip("/")) != "stowaway":
            problems.add(f"{DOCKERFILE}:{n}", f"copies {' '.join(sources) or a} into the runtime image; copy only the stowaway binary")
        else:
            binaries.append(n)
    if not binaries:
        problems.add(where, "does not copy the stowaway binary from a build stage")
    entrypoint = [exec_form(a) for _, w, a in body if w == "ENTRYPOINT"]
    if not entrypoint or not entrypoint[-1] or os.path.basename(entrypoint[-1][0]) != "stowaway":
        problems.add(where, "has no ENTRYPOINT [\"stowaway\"] (compose's commands are stowaway's subcommands)")

    # Build arguments: the ones compose passes exist; every one is documented in the README.
    services = (compose_config or {}).get("services") or {}
    for name, svc in services.items():
        build = (svc or {}).get("build")
        if isinstance(build, dict):
            for arg in (build.get("args") or {}):
                if arg not in all_args:
                    problems.add(f"{COMPOSE}: service {name!r}", f"passes the build argument {arg}, which {DOCKERFILE} does not declare")
    deploy = section(readme, DEPLOY_SECTION)
    if deploy is None:
        problems.add(README, f"has no '{DEPLOY_SECTION}' section")
    else:
        for arg in sorted(all_args):
            if not re.search(rf"\b{re.escape(arg)}\b", deploy):
                problems.add(README, f"'{DEPLOY_SECTION}' does not document the Dockerfile's build argument {arg}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--root", default=os.path.normpath(os.path.join(here, "..", "..")))
    parser.add_argument("--stowaway", help="the stowaway binary, to read its subcommands' --help")
    args = parser.parse_args()
    root = args.root
    problems = Problems()
    binary = Binary(args.stowaway) if args.stowaway else None
    if binary and not os.access(args.stowaway, os.X_OK):
        problems.add("--stowaway", f"{args.stowaway} is not an executable")
        binary = None

    def read(rel):
        try:
            with open(os.path.join(root, rel), encoding="utf-8") as f:
                return f.read()
        except OSError as e:
            problems.add(rel, f"cannot be read: {e.strerror}")
            return None

    compose_text, dotenv_text = read(COMPOSE), read(ENV_EXAMPLE)
    dockerfile_text, readme = read(DOCKERFILE), read(README) or ""
    dotenv = parse_dotenv(dotenv_text or "", ENV_EXAMPLE, problems)
    config = None
    if compose_text is not None:
        try:
            raw = yaml.load(compose_text, Loader=StrictLoader)
        except yaml.YAMLError as e:
            problems.add(COMPOSE, f"does not parse: {e}")
            raw = None
        if raw is not None and not isinstance(raw, dict):
            problems.add(COMPOSE, "is not a mapping")
            raw = None
        if raw is not None:
            check_interpolation(raw, dotenv, problems)
            config = resolve(raw, dotenv)  # as `cp .env.example .env` would make it
            check_compose(root, config, readme, binary, problems)
    if dockerfile_text is not None:
        check_dockerfile(root, dockerfile_text, config, readme, problems)

    for item in problems.items:
        print(f"check_deploy: {item}", file=sys.stderr)
    if problems.items:
        print(f"check_deploy: {len(problems.items)} problem(s)", file=sys.stderr)
        return 1
    print("check_deploy: docker-compose.yml, .env.example, deploy/Dockerfile and .dockerignore are consistent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
