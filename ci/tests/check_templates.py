# SPDX-License-Identifier: MIT
"""ctest: parse the CI templates with a real YAML parser and check their structure.

    python3 check_templates.py REPO_ROOT

- ci/github/action.yml: a composite action (runs.using == "composite"); every `run` step has a
  `shell`; inputs build/scenario/args/log exist; outputs base-url and log come from step outputs;
  it installs the build-only dependency set (ci/deps --build) and starts the mock with --log.
- ci/gitlab/wxpay-mock.yml: the hidden job .wxpay-mock with before_script, script, after_script
  and artifacts:reports:junit; ci/deps --build; the mock's --log file is an artifact.
- Dockerfile: its ci/deps line installs the build-only set (--build).
- docs/ci.md: every ```yaml block parses; the example GitHub workflow uses no action other than
  actions/checkout, actions/upload-artifact and this repository's ci/github.

PyYAML (Debian's python3-yaml, installed by ci/deps) is required: without it the test FAILS.
Prints "ALL OK" when every check passed.
"""
import os
import re
import sys

try:
    import yaml
except ImportError:
    print("FAIL: python3-yaml is not installed (ci/deps installs it; apt-get install python3-yaml)")
    sys.exit(1)

errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)
    return cond


def load(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    # yaml.safe_load accepts duplicate keys silently; GitHub and GitLab do not all agree, so refuse them.
    class Strict(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        keys = set()
        for k, _ in node.value:
            key = loader.construct_object(k, deep=deep)
            if key in keys:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", k.start_mark)
            keys.add(key)
        return yaml.SafeLoader.construct_mapping(loader, node, deep)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return yaml.load(text, Loader=Strict), text


def check_action(path):
    doc, text = load(path)
    print(f"parsed {path}")
    check(text.startswith("#"), f"{path}: no header comment")
    check(isinstance(doc, dict), f"{path}: not a mapping")
    for key in ("name", "description", "inputs", "outputs", "runs"):
        check(key in doc, f"{path}: no top-level {key!r}")
    runs = doc.get("runs") or {}
    check(runs.get("using") == "composite", f"{path}: runs.using is {runs.get('using')!r}, want 'composite'")
    inputs = doc.get("inputs") or {}
    for name in ("build", "scenario", "args", "log"):
        check(name in inputs, f"{path}: no input {name!r}")
        check("description" in (inputs.get(name) or {}), f"{path}: input {name!r} has no description")
    check((inputs.get("build") or {}).get("default") in ("true", "false", True, False),
          f"{path}: input build needs a true/false default")
    outputs = doc.get("outputs") or {}
    steps = runs.get("steps") or []
    check(isinstance(steps, list) and steps, f"{path}: runs.steps is empty")
    ids = {s.get("id") for s in steps if isinstance(s, dict)}
    for out in ("base-url", "log"):
        check(out in outputs, f"{path}: no output {out!r}")
        value = str((outputs.get(out) or {}).get("value", ""))
        m = re.fullmatch(r"\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\s*\}\}", value)
        if check(m is not None, f"{path}: output {out} is {value!r}, want ${{{{ steps.ID.outputs.NAME }}}}"):
            check(m.group(1) in ids, f"{path}: output {out} names step {m.group(1)!r}, which does not exist")
    for i, step in enumerate(steps):
        where = f"{path}: step {i} ({step.get('name', '?')})"
        check(isinstance(step, dict), f"{where}: not a mapping")
        check("name" in step, f"{where}: no name")
        check(("run" in step) != ("uses" in step), f"{where}: needs exactly one of run/uses")
        if "run" in step:
            check(step.get("shell") in ("bash", "sh", "pwsh", "python", "powershell", "cmd"),
                  f"{where}: a run step in a composite action needs a shell (got {step.get('shell')!r})")
        # Inputs must not be pasted into scripts (injection): they go through env.
        if "run" in step:
            check("${{ inputs." not in str(step["run"]), f"{where}: uses ${{{{ inputs.* }}}} inside run; pass it through env")
    text_steps = " ".join(str(s.get("run", "")) for s in steps)
    check("ci/deps" in text_steps or "/deps" in text_steps, f"{path}: no step runs ci/deps")
    check(re.search(r"/deps\"? --build\b", text_steps) is not None,
          f"{path}: ci/deps without --build installs the test tools (clang-format, cmocka, ...) too")
    check(re.search(r"wxpay-mock-start\"?[^\n]*\\?\s*--log ", text_steps) is not None,
          f"{path}: the mock is started without --log: its log would go with the stop")
    check("--github-env" in text_steps, f"{path}: no step starts the mock with --github-env")
    check("cmake --install" in text_steps, f"{path}: no step runs cmake --install")


def check_gitlab(path):
    doc, text = load(path)
    print(f"parsed {path}")
    check(text.startswith("#"), f"{path}: no header comment")
    check(isinstance(doc, dict), f"{path}: not a mapping")
    job = doc.get(".wxpay-mock")
    if not check(isinstance(job, dict), f"{path}: no hidden job '.wxpay-mock'"):
        return
    for key in ("before_script", "script", "after_script"):
        v = job.get(key)
        check(isinstance(v, list) and v and all(isinstance(x, str) for x in v),
              f"{path}: .wxpay-mock.{key} must be a non-empty list of strings")
    junit = ((job.get("artifacts") or {}).get("reports") or {}).get("junit")
    check(junit is not None and junit != [], f"{path}: .wxpay-mock has no artifacts:reports:junit")
    check((job.get("artifacts") or {}).get("when") == "always", f"{path}: artifacts should be kept when: always")
    before = "\n".join(job.get("before_script") or [])
    after = "\n".join(job.get("after_script") or [])
    check("wxpay-mock-start" in before, f"{path}: before_script does not run wxpay-mock-start")
    check(re.search(r"/ci/deps\"? --build\b", before) is not None,
          f"{path}: before_script runs ci/deps without --build")
    check(re.search(r"wxpay-mock-start\"? --log \"\$WXPAY_MOCK_LOG_FILE\"", before) is not None,
          f"{path}: the mock is started without --log \"$WXPAY_MOCK_LOG_FILE\"")
    log = str((job.get("variables") or {}).get("WXPAY_MOCK_LOG_FILE", ""))
    paths = (job.get("artifacts") or {}).get("paths") or []
    check(log.startswith("$CI_PROJECT_DIR/") and log[len("$CI_PROJECT_DIR/"):] in paths,
          f"{path}: WXPAY_MOCK_LOG_FILE ({log!r}) is not among the artifacts {paths!r}")
    check("wxpay-mock-stop" in after, f"{path}: after_script does not run wxpay-mock-stop")
    check("wxpay-conformance" in "\n".join(job.get("script") or []), f"{path}: script does not run wxpay-conformance")
    # Every job that is not hidden must be valid too (none is expected in a template).
    for name, v in doc.items():
        if not name.startswith(".") and name not in ("variables", "default", "include", "stages", "workflow"):
            errors.append(f"{path}: unexpected visible job {name!r} in a template")


def check_dockerfile(path):
    with open(path, encoding="utf-8") as f:
        lines = [l for l in f.read().splitlines() if not l.lstrip().startswith("#")]
    deps = [l for l in lines if re.search(r"\bci/deps\b", l)]
    check(deps, f"{path}: no ci/deps line")
    for l in deps:
        check(re.search(r"ci/deps --build\b", l) is not None, f"{path}: {l.strip()!r}: want ci/deps --build")
    print(f"checked {path}")


ALLOWED_ACTIONS = ("actions/checkout@", "actions/upload-artifact@")


def check_docs(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    blocks = re.findall(r"^```ya?ml\n(.*?)^```", text, flags=re.S | re.M)
    check(len(blocks) >= 2, f"{path}: expected at least 2 yaml examples, found {len(blocks)}")
    workflows = 0
    for i, block in enumerate(blocks):
        try:
            doc = yaml.safe_load(block)
        except yaml.YAMLError as e:
            errors.append(f"{path}: yaml block {i + 1} does not parse: {e}")
            continue
        print(f"parsed {path} yaml block {i + 1}")
        if isinstance(doc, dict) and "jobs" in doc:
            workflows += 1
            for jname, job in (doc.get("jobs") or {}).items():
                for s in job.get("steps") or []:
                    uses = s.get("uses")
                    if uses is None:
                        continue
                    check(uses.startswith(ALLOWED_ACTIONS) or uses.startswith("./") or "/ci/github@" in uses,
                          f"{path}: workflow job {jname}: third-party action {uses!r}")
                    if uses.startswith("./") or "/ci/github@" in uses:
                        check(s.get("id") is not None, f"{path}: the wxpay-harness step needs an id for its outputs")
            runs = " ".join(str(s.get("run", "")) for j in (doc.get("jobs") or {}).values() for s in j.get("steps") or [])
            check("wxpay-conformance client" in runs and "--junit" in runs,
                  f"{path}: the example workflow does not run wxpay-conformance client --junit")
    check(workflows >= 1, f"{path}: no example GitHub workflow (a yaml block with jobs:)")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    print(f"PyYAML {yaml.__version__} ({'C' if getattr(yaml, '__with_libyaml__', False) else 'pure'}), {sys.executable}")
    for fn, rel in ((check_action, "ci/github/action.yml"), (check_gitlab, "ci/gitlab/wxpay-mock.yml"),
                    (check_docs, "docs/ci.md"), (check_dockerfile, "Dockerfile")):
        p = os.path.join(root, rel)
        try:
            fn(p)
        except (OSError, yaml.YAMLError) as e:
            errors.append(f"{rel}: {e}")
    for e in errors:
        print("FAIL:", e)
    if errors:
        sys.exit(1)
    print("ALL OK")


main()
