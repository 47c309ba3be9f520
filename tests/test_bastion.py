"""Bastion: the stack (SSM only, IMDSv2, no SSH, least-privilege role) and its user data, run for real: bash parses
it, and its kubeconfig script (with stand-ins for the `aws` and `kubectl` commands, and the real bash and jq) adds
one context per cluster, retries what is not ready, and drops contexts of clusters no longer configured."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from fedtest import ACCOUNT, ENVIRONMENTS, environment, resources, synth, templates
from layer_tools import layer_binary


def render(value) -> str:
    """The user data script, with references replaced by stand-ins."""
    if isinstance(value, str):
        return value
    if "Fn::Base64" in value:
        return render(value["Fn::Base64"])
    if "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(render(p) for p in parts)
    if "Ref" in value:
        return f"arn:aws:lambda:us-east-1:123456789012:layer:{value['Ref']}:1"
    raise AssertionError(f"unexpected intrinsic in user data: {value}")


@pytest.fixture(scope="module")
def user_data() -> str:
    stacks, _ = synth(environment(3))
    t = templates(stacks)["fedeks-test-bastion"]
    lt = next(iter(resources(t, "AWS::EC2::LaunchTemplate").values()))
    param = next(iter(resources(t, "AWS::SSM::Parameter").values()))["Properties"]
    return render(lt["Properties"]["LaunchTemplateData"]["UserData"]), param


def test_user_data_is_valid_bash(user_data, tmp_path):
    script, _ = user_data
    (tmp_path / "ud.sh").write_text(script)
    run = subprocess.run(["bash", "-n", str(tmp_path / "ud.sh")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert script.startswith("#!/bin/bash\nset -euo pipefail\n")


STUB_AWS = """#!/bin/bash
echo "aws $*" >> "$STUB_DIR/calls"
if [ "$1 $2" = "ssm get-parameter" ]; then cat "$STUB_DIR/parameter"; exit 0; fi
if [ "$1 $2" = "eks update-kubeconfig" ]; then
  while [ $# -gt 0 ]; do case "$1" in --alias) alias="$2"; shift;; --name) name="$2"; shift;; esac; shift; done
  grep -qx "$name" "$STUB_DIR/not-ready" 2>/dev/null && exit 254
  echo "$alias" >> "$STUB_DIR/contexts"; exit 0
fi
exit 1
"""

STUB_KUBECTL = """#!/bin/bash
if [ "$1 $2" = "config get-contexts" ] && [ "$3" = "-o" ]; then cat "$STUB_DIR/contexts" 2>/dev/null; exit 0; fi
if [ "$1 $2" = "config get-contexts" ]; then grep -qx "$3" "$STUB_DIR/contexts" 2>/dev/null; exit $?; fi
if [ "$1 $2" = "config delete-context" ]; then
  grep -vx "$3" "$STUB_DIR/contexts" > "$STUB_DIR/c.tmp"; mv "$STUB_DIR/c.tmp" "$STUB_DIR/contexts"; exit 0
fi
exit 1
"""


def kubeconfig_script(script: str) -> str:
    body = script.split("cat > /usr/local/bin/fedeks-kubeconfig <<'SCRIPT'\n", 1)[1].split("\nSCRIPT\n", 1)[0]
    return body


def run_script(tmp_path: Path, script: str, parameter: str, not_ready: str = "") -> subprocess.CompletedProcess:
    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    for name, text in (("aws", STUB_AWS), ("kubectl", STUB_KUBECTL)):
        (stubs / name).write_text(text)
        (stubs / name).chmod(0o755)
    (tmp_path / "parameter").write_text(parameter)
    (tmp_path / "not-ready").write_text(not_ready)
    body = kubeconfig_script(script).replace("/etc/fedeks/kubeconfig", str(tmp_path / "kubeconfig"))
    (tmp_path / "kubeconfig").touch()
    (tmp_path / "run.sh").write_text(body)
    env = {**os.environ, "PATH": f"{stubs}:/usr/bin:/bin", "STUB_DIR": str(tmp_path)}
    return subprocess.run(["bash", str(tmp_path / "run.sh")], capture_output=True, text=True, env=env)


def contexts(tmp_path: Path) -> list[str]:
    path = tmp_path / "contexts"
    return sorted(path.read_text().split()) if path.exists() else []


def test_kubeconfig_script_adds_a_context_per_cluster_and_retries(user_data, tmp_path):
    script, param = user_data
    assert param["Name"] in kubeconfig_script(script)
    first = run_script(tmp_path, script, param["Value"], not_ready="fedeks-test-fed-3\n")
    assert first.returncode == 1  # fed-3 still creating: the login hook will try again
    assert contexts(tmp_path) == ["fed-1", "fed-2"]
    second = run_script(tmp_path, script, param["Value"])
    assert second.returncode == 0 and contexts(tmp_path) == ["fed-1", "fed-2", "fed-3"]
    calls = (tmp_path / "calls").read_text()
    assert "eks update-kubeconfig --region us-west-2 --name fedeks-test-fed-3 --alias fed-3" in calls
    assert calls.count("--alias fed-1") == 1  # an existing context is not fetched again


def test_kubeconfig_script_drops_contexts_of_removed_clusters(user_data, tmp_path):
    script, param = user_data
    run_script(tmp_path, script, param["Value"])
    fewer = json.dumps([c for c in json.loads(param["Value"]) if c["alias"] != "fed-2"])
    assert run_script(tmp_path, script, fewer).returncode == 0
    assert contexts(tmp_path) == ["fed-1", "fed-3"]


def test_bastion_is_ssm_only_with_imdsv2_and_no_ssh(dev):
    _, tpl = dev
    t = tpl["fedeks-dev-bastion"]
    t.resource_count_is("AWS::EC2::Instance", 1)
    t.resource_count_is("AWS::AutoScaling::LaunchConfiguration", 0)
    lt = next(iter(resources(t, "AWS::EC2::LaunchTemplate").values()))["Properties"]["LaunchTemplateData"]
    assert lt["MetadataOptions"]["HttpTokens"] == "required"
    assert lt["MetadataOptions"]["HttpPutResponseHopLimit"] == 1  # nothing on the bastion runs in a container
    assert "KeyName" not in lt
    # x86_64 AL2023 (the tools are amd64 binaries), resolved by CloudFormation at deploy, not looked up at synth.
    (image,) = [p["Default"] for p in t.to_json()["Parameters"].values() if "ami-amazon-linux" in p.get("Default", "")]
    assert image == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64"
    assert lt["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    for sg in resources(t, "AWS::EC2::SecurityGroup").values():
        assert "SecurityGroupIngress" not in sg["Properties"]
    assert resources(t, "AWS::EC2::SecurityGroupIngress") == {}
    instance = next(iter(resources(t, "AWS::EC2::Instance").values()))["Properties"]
    assert "private" in json.dumps(instance["SubnetId"]).lower()
    user_data = json.dumps(lt["UserData"])
    contexts = next(iter(resources(t, "AWS::SSM::Parameter").values()))["Properties"]
    assert contexts["Name"] == "/fedeks-dev-bastion/kubeconfig-contexts"
    assert json.loads(contexts["Value"]) == [
        {"alias": "fed-1", "cluster": "fedeks-dev-fed-1", "region": "us-east-1"},
        {"alias": "fed-2", "cluster": "fedeks-dev-fed-2", "region": "us-east-2"}]
    assert "aws eks update-kubeconfig" in user_data and "/kubeconfig-contexts" in user_data
    assert "/usr/local/bin/kubectl" in user_data and "/usr/local/bin/helm" in user_data
    assert "CodeSha256" in user_data  # the tools archive is checked before use
    assert "kubefedctl" not in user_data  # not configured: nothing downloaded from the internet


def test_bastion_installs_kubefedctl_only_with_a_checksum():
    sha = "a" * 64
    raw = environment(bastion={"region": "us-east-1", "cidr": "172.20.0.0/16",
                               "kubefedctl": {"url": "https://example.com/kubefedctl.tgz", "sha256": sha}})
    stacks, _ = synth(raw)
    lt = next(iter(resources(templates(stacks)["fedeks-test-bastion"], "AWS::EC2::LaunchTemplate").values()))
    user_data = json.dumps(lt["Properties"]["LaunchTemplateData"]["UserData"])
    assert "https://example.com/kubefedctl.tgz" in user_data and f"{sha}  " in user_data
    assert "sha256sum --check --strict" in user_data


def test_bastion_role_is_least_privilege(dev):
    _, tpl = dev
    role = next(r for r in resources(tpl["fedeks-dev-access"], "AWS::IAM::Role").values()
                if r["Properties"]["RoleName"] == "fedeks-dev-bastion")
    statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statements == [{"Action": "eks:DescribeCluster", "Effect": "Allow", "Resource": [
        f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/fedeks-dev-fed-1",
        f"arn:aws:eks:us-east-2:{ACCOUNT}:cluster/fedeks-dev-fed-2"]}]
    join_role = next(r for r in resources(tpl["fedeks-dev-access"], "AWS::IAM::Role").values()
                     if r["Properties"]["RoleName"] == "fedeks-dev-kubefed-join")
    assert "Policies" not in join_role["Properties"] and "ManagedPolicyArns" not in join_role["Properties"]


# --- the default Session Manager session: a non-login `sh` as ssm-user ----------------------------------------

def heredoc(script: str, opener: str) -> str:
    return script.split(opener + "\n", 1)[1].split("\n" + opener.rsplit("'", 2)[1] + "\n", 1)[0]


STUB_ID = """#!/bin/bash
if [ "$1" = "-g" ]; then /usr/bin/id -g; exit; fi
grep -q "^$1:" "$STUB_DIR/passwd" 2>/dev/null
"""
STUB_USERADD = """#!/bin/bash
[ "$1" = "-m" ] || exit 2
mkdir -p "$STUB_DIR/home/$2" && echo "$2:x:1001:1001::$STUB_DIR/home/$2:/bin/bash" >> "$STUB_DIR/passwd"
"""
# The real install(1), without the owner and group a test run cannot set.
STUB_INSTALL = """#!/bin/bash
args=(); while [ $# -gt 0 ]; do case "$1" in -o|-g) shift;; *) args+=("$1");; esac; shift; done
exec /usr/bin/install "${args[@]}"
"""


def ssm_session(tmp_path: Path, home: Path, kubectl: Path, commands: str) -> subprocess.CompletedProcess:
    """What amazon-ssm-agent starts (agent/session/shell/shell_unix.go): `sh` with no arguments, so neither a login
    shell nor one reading profiles, with the agent's environment plus TERM, LANG and the user's HOME. On AL2023
    /bin/sh is bash, which runs in POSIX mode when invoked as sh."""
    bin_dir = tmp_path / "session-bin"
    bin_dir.mkdir(exist_ok=True)
    for name, target in (("sh", "/bin/bash"), ("kubectl", str(kubectl))):
        if not (bin_dir / name).exists():
            (bin_dir / name).symlink_to(target)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "TERM": "xterm-256color", "LANG": "C.UTF-8", "HOME": str(home)}
    return subprocess.run([str(bin_dir / "sh"), "-i"], input=commands, capture_output=True, text=True, env=env,
                          cwd=home, timeout=60)


def test_a_default_ssm_session_finds_every_context(user_data, tmp_path):
    script, _ = user_data
    kubeconfig = tmp_path / "kubeconfig"
    body = heredoc(script, "cat > /usr/local/bin/fedeks-session-user <<'SCRIPT'").replace(
        "/etc/fedeks/kubeconfig", str(kubeconfig)).replace("home=/home/", f"home={tmp_path}/home/")
    assert "/usr/local/bin/fedeks-session-user" in script.split("SCRIPT\n")[-1]  # it is run, not only written
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name, text in (("id", STUB_ID), ("useradd", STUB_USERADD), ("install", STUB_INSTALL)):
        (stubs / name).write_text(text)
        (stubs / name).chmod(0o755)
    (tmp_path / "run.sh").write_text(body)
    env = {**os.environ, "PATH": f"{stubs}:/usr/bin:/bin", "STUB_DIR": str(tmp_path)}
    for _ in range(2):  # the user does not exist yet, then it does (a reboot, or the agent was first)
        run = subprocess.run(["bash", str(tmp_path / "run.sh")], capture_output=True, text=True, env=env)
        assert run.returncode == 0, run.stderr
    assert [line.split(":")[0] for line in (tmp_path / "passwd").read_text().splitlines()] == ["ssm-user"]

    # The kubeconfig the boot script writes (aws eks update-kubeconfig adds contexts like these).
    kubectl = layer_binary(ENVIRONMENTS["dev"]["kubernetesVersion"], "kubectl")
    for alias in ("fed-1", "fed-2"):
        for args in (["set-cluster", f"arn-{alias}", f"--server=https://{alias}.example.com"],
                     ["set-credentials", f"arn-{alias}", "--exec-command=aws",
                      "--exec-api-version=client.authentication.k8s.io/v1beta1"],
                     ["set-context", alias, f"--cluster=arn-{alias}", f"--user=arn-{alias}"]):
            subprocess.run([str(kubectl), "config", *args], env={"KUBECONFIG": str(kubeconfig)}, check=True,
                           capture_output=True)

    query = "kubectl config get-contexts -o name\nkubectl --context fed-2 config view --minify -o " \
            "jsonpath='{.clusters[0].cluster.server}'\nexit\n"
    session = ssm_session(tmp_path, tmp_path / "home" / "ssm-user", kubectl, query)
    assert session.stdout.split() == ["fed-1", "fed-2", "https://fed-2.example.com"], session.stderr
    # Without the link (the bastion before this fix), the same session has no contexts at all.
    bare = tmp_path / "home" / "other-user"
    bare.mkdir()
    without = ssm_session(tmp_path, bare, kubectl, query)
    assert without.stdout.split() == [] and "cannot locate context fed-2" in without.stderr


def test_a_timer_refreshes_the_contexts_and_its_units_are_valid(user_data, tmp_path):
    """Sessions run no login hook, and clusters are usually still creating when the bastion boots: a systemd timer
    retries. `systemd-analyze verify` checks the units as systemd would load them."""
    script, _ = user_data
    units = tmp_path / "units"
    units.mkdir()
    stand_in = tmp_path / "fedeks-kubeconfig"
    stand_in.write_text("#!/bin/bash\n")
    stand_in.chmod(0o755)
    for suffix in ("service", "timer"):
        text = heredoc(script, f"cat > /etc/systemd/system/fedeks-kubeconfig.{suffix} <<'UNIT'")
        (units / f"fedeks-kubeconfig.{suffix}").write_text(
            text.replace("/usr/local/bin/fedeks-kubeconfig", str(stand_in)) + "\n")
    run = subprocess.run(["systemd-analyze", "verify", "--man=no", str(units / "fedeks-kubeconfig.timer"),
                          str(units / "fedeks-kubeconfig.service")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    timer = (units / "fedeks-kubeconfig.timer").read_text()
    assert "OnUnitActiveSec=5min" in timer and "WantedBy=timers.target" in timer
    assert "ExecStart=-" in (units / "fedeks-kubeconfig.service").read_text()  # a failed try does not stop the timer
    assert "systemctl enable --now fedeks-kubeconfig.timer" in script
