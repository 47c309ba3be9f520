"""The operator box: one Amazon Linux 2023 instance from a launch template, reachable only through
SSM Session Manager, with pinned kubectl and helm and a kubeconfig context per cluster.

Tools come from the same pinned kubectl Lambda layer package the host cluster uses (so kubectl matches
the Kubernetes version): the layer is published in this region and the instance downloads it through
`lambda:GetLayerVersion`, checking the archive against the SHA-256 Lambda recorded for it. Nothing is
fetched from the internet unless kubefedctl is configured (URL + SHA-256, both checked).
"""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from aws_cdk import Stack, aws_ec2 as ec2, aws_iam as iam, aws_lambda as lambda_, aws_ssm as ssm
from constructs import Construct

from components.compliance import acknowledge
from federated_eks.model.federation import KubefedctlConfig

KUBECONFIG_PATH = "/etc/fedeks/kubeconfig"
SESSION_USER = "ssm-user"
"""The user Session Manager runs sessions as (unless a Session document sets runAsEnabled)."""
REFRESH_UNIT = "fedeks-kubeconfig"
REFRESH_SERVICE = [
    "[Unit]",
    "Description=federated-eks: one kubeconfig context per configured cluster",
    "Wants=network-online.target",
    "After=network-online.target",
    "[Service]",
    "Type=oneshot",
    # '-': a cluster not ready yet is the normal case at first; the next run retries it.
    "ExecStart=-/usr/local/bin/fedeks-kubeconfig",
]
REFRESH_TIMER = [
    "[Unit]",
    "Description=federated-eks: refresh the bastion's kubeconfig contexts",
    "[Timer]",
    "OnBootSec=2min",
    "OnUnitActiveSec=5min",
    "[Install]",
    "WantedBy=timers.target",
]


@dataclass(frozen=True)
class KubeconfigContext:
    alias: str
    """The context name (the cluster's name in the config)."""
    eks_cluster_name: str
    region: str


@dataclass(frozen=True)
class BastionHostProps:
    vpc: ec2.IVpc
    role: iam.IRole
    instance_type: str
    tools_layer: lambda_.ILayerVersion
    """A kubectl layer: /opt/kubectl/kubectl and /opt/helm/helm inside its zip."""
    contexts: tuple[KubeconfigContext, ...]
    """Published in an SSM parameter that the instance reads: adding a cluster never replaces the instance."""
    contexts_parameter_name: str
    kubefedctl: KubefedctlConfig = KubefedctlConfig()


class BastionHost(Construct):
    """Attributes: `instance` (CfnInstance), `security_group`, `launch_template`."""

    def __init__(self, scope: Construct, id: str, props: BastionHostProps) -> None:
        super().__init__(scope, id)
        self.security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=props.vpc, allow_all_outbound=True,
            description="Bastion: no inbound rule (SSM Session Manager only)")
        self.contexts_parameter = ssm.StringParameter(
            self, "Contexts", parameter_name=props.contexts_parameter_name,
            description="federated-eks: the kubeconfig contexts the bastion keeps (one per cluster)",
            string_value=json.dumps([{"alias": c.alias, "cluster": c.eks_cluster_name, "region": c.region}
                                     for c in sorted(props.contexts, key=lambda c: c.alias)]))
        self.contexts_parameter.grant_read(props.role)
        user_data = ec2.UserData.for_linux()
        user_data.add_commands(*self.user_data_commands(props, Stack.of(self).region))
        self.launch_template = ec2.LaunchTemplate(
            self, "LaunchTemplate",
            # x86_64: kubectl and helm come from the kubectl layer, which ships amd64 binaries only (the config
            # refuses a Graviton bastion). A CloudFormation SSM parameter, resolved at deploy: no lookup at synth.
            machine_image=ec2.MachineImage.latest_amazon_linux2023(cpu_type=ec2.AmazonLinuxCpuType.X86_64),
            instance_type=ec2.InstanceType(props.instance_type),
            role=props.role,
            security_group=self.security_group,
            require_imdsv2=True,
            http_put_response_hop_limit=1,
            detailed_monitoring=True,
            user_data=user_data,
            block_devices=[ec2.BlockDevice(device_name="/dev/xvda", volume=ec2.BlockDeviceVolume.ebs(
                30, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3))],
        )
        subnet = props.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnet_ids[0]
        self.instance = ec2.CfnInstance(
            self, "Instance",
            launch_template=ec2.CfnInstance.LaunchTemplateSpecificationProperty(
                launch_template_id=self.launch_template.launch_template_id,
                version=self.launch_template.latest_version_number),
            subnet_id=subnet,
            monitoring=True,
            tags=[{"key": "Name", "value": id}],
        )
        acknowledge(self.instance, "Termination protection would block `cdk destroy`; the bastion keeps no state "
                    "(tools and kubeconfig are rebuilt from user data), so replacing it loses nothing.",
                    "AwsSolutions-EC29")
        props.role.add_to_principal_policy(iam.PolicyStatement(
            actions=["lambda:GetLayerVersion"], resources=[props.tools_layer.layer_version_arn]))

    @staticmethod
    def user_data_commands(props: BastionHostProps, region: str) -> list[str]:
        q = shlex.quote
        cmds = [
            "set -euo pipefail",
            "dnf install -y unzip jq",
            f"export AWS_REGION={q(region)}",
            "work=$(mktemp -d)",
            # The kubectl layer: download, check the SHA-256 Lambda recorded, install kubectl and helm.
            f'layer=$(aws lambda get-layer-version-by-arn --arn "{props.tools_layer.layer_version_arn}" --output json)',
            'curl -fsSL -o "$work/tools.zip" "$(echo "$layer" | jq -r .Content.Location)"',
            'want=$(echo "$layer" | jq -r .Content.CodeSha256)',
            'got=$(openssl dgst -sha256 -binary "$work/tools.zip" | base64)',
            'if [ "$want" != "$got" ]; then echo "kubectl layer checksum mismatch" >&2; exit 1; fi',
            'unzip -o -q "$work/tools.zip" -d "$work/tools"',
            'install -m 0755 "$work/tools/kubectl/kubectl" /usr/local/bin/kubectl',
            'install -m 0755 "$work/tools/helm/helm" /usr/local/bin/helm',
        ]
        if props.kubefedctl.enabled:
            cmds += [
                f'curl -fsSL -o "$work/kubefedctl.tgz" {q(props.kubefedctl.url)}',
                f'echo {q(props.kubefedctl.sha256 + "  " )}"$work/kubefedctl.tgz" | sha256sum --check --strict',
                'tar -xzf "$work/kubefedctl.tgz" -C "$work" kubefedctl',
                'install -m 0755 "$work/kubefedctl" /usr/local/bin/kubefedctl',
            ]
        # One context per cluster, named after it, from the SSM parameter (so the list can change without
        # touching the instance). Clusters may still be creating when the bastion boots: the script also runs
        # at every login until every context exists, and drops contexts of clusters no longer configured.
        script = [
            "#!/bin/bash",
            f"export KUBECONFIG={KUBECONFIG_PATH} AWS_REGION={q(region)}",
            f"wanted=$(aws ssm get-parameter --name {q(props.contexts_parameter_name)} --query Parameter.Value "
            "--output text) || exit 1",
            "ok=0",
            'while read -r alias cluster cluster_region; do',
            '  kubectl config get-contexts "$alias" >/dev/null 2>&1 || aws eks update-kubeconfig --region '
            '"$cluster_region" --name "$cluster" --alias "$alias" >/dev/null 2>&1 || ok=1',
            'done < <(echo "$wanted" | jq -r \'.[] | "\\(.alias) \\(.cluster) \\(.region)"\')',
            'for existing in $(kubectl config get-contexts -o name 2>/dev/null); do',
            '  echo "$wanted" | jq -e --arg a "$existing" \'any(.[]; .alias == $a)\' >/dev/null || '
            'kubectl config delete-context "$existing" >/dev/null',
            "done",
            f"chmod 0644 {KUBECONFIG_PATH}",
            'exit "$ok"',
        ]
        cmds += [
            f"mkdir -p {KUBECONFIG_PATH.rsplit('/', 1)[0]}",
            "cat > /usr/local/bin/fedeks-kubeconfig <<'SCRIPT'",
            *script,
            "SCRIPT",
            "chmod 0755 /usr/local/bin/fedeks-kubeconfig",
            # Login shells (bash -l, sudo -i) get KUBECONFIG and a refresh here.
            "cat > /etc/profile.d/fedeks.sh <<'PROFILE'",
            f"export KUBECONFIG={KUBECONFIG_PATH}",
            "sudo -n /usr/local/bin/fedeks-kubeconfig 2>/dev/null || "
            "echo 'fedeks: some cluster contexts are not ready yet; run: sudo fedeks-kubeconfig'",
            "PROFILE",
            # The kubeconfig holds no secret: every context runs `aws eks get-token` as the instance role.
            f"touch {KUBECONFIG_PATH} && chmod 0644 {KUBECONFIG_PATH}",
            # A Session Manager session is a non-login `sh` as ssm-user (no profile read), so the contexts must be
            # where kubectl looks by default: ~ssm-user/.kube/config, linked to the shared kubeconfig.
            "cat > /usr/local/bin/fedeks-session-user <<'SCRIPT'",
            *BastionHost.session_user_script(),
            "SCRIPT",
            "chmod 0755 /usr/local/bin/fedeks-session-user",
            "/usr/local/bin/fedeks-session-user || echo 'fedeks: could not link ssm-user to the kubeconfig' >&2",
            # Clusters are usually still being created when the bastion boots, and a session runs no login hook:
            # a timer keeps the contexts in step with the configured clusters.
            f"cat > /etc/systemd/system/{REFRESH_UNIT}.service <<'UNIT'",
            *REFRESH_SERVICE,
            "UNIT",
            f"cat > /etc/systemd/system/{REFRESH_UNIT}.timer <<'UNIT'",
            *REFRESH_TIMER,
            "UNIT",
            "systemctl daemon-reload",
            f"systemctl enable --now {REFRESH_UNIT}.timer",
            "/usr/local/bin/fedeks-kubeconfig || true",
            'rm -rf "$work"',
        ]
        return cmds

    @staticmethod
    def session_user_script() -> list[str]:
        """Gives Session Manager's user the shared kubeconfig at kubectl's default path.

        amazon-ssm-agent (agent/session/shell/shell_unix.go) starts each session as `sh` with no arguments, as
        ssm-user, with HOME=/home/ssm-user (always /home/<user>: agent/session/shell/constants/constants_unix.go) and
        its own environment; it creates ssm-user with `useradd -m` unless the user exists, and then only adds its
        sudoers file (agent/session/utility/utility_unix.go). The agent may come up before or after this script:
        either way, the user exists afterwards and has the link.
        """
        return [
            "#!/bin/bash",
            "set -euo pipefail",
            f"user={SESSION_USER}",
            'id "$user" >/dev/null 2>&1 || useradd -m "$user" || id "$user" >/dev/null',
            'home=/home/$user',
            'install -d -m 0700 -o "$user" -g "$(id -g "$user")" "$home" "$home/.kube"',
            f'ln -sfn {KUBECONFIG_PATH} "$home/.kube/config"',
        ]
