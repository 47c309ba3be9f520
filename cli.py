"""The command line around the federation of app.py: how `cdk synth` (or `python app.py -c env=NAME`) reads its
context, picks an environment or a pipeline, checks the lookups and the synthesized templates, and reports every
error in one line instead of a traceback. app.py calls `main(argv, build)`; nothing else of the app imports this.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

import aws_cdk as cdk
from jsii.errors import JSIIError

from components import compliance
from federated_eks.config.pipelines import load_pipeline
from federated_eks.config.reader import ConfigError, load_environment
from federated_eks.model.federation import FederationConfig
from federated_eks.operations import preflight
from federated_eks.plan import cloudformation_limits

Build = Callable[[Any, FederationConfig], dict]


def check_templates(directory: Path) -> None:
    """Every synthesized template against CloudFormation's limits (cloudformation_limits): the config check refuses
    what it can foresee; this is the last word, right after synth, before the CLI uploads anything.

    Read from the cloud assembly's files (its manifest.json, and the nested assemblies of a pipeline's stages), not
    through aws-cdk-lib's CloudAssembly objects: at 100 clusters those cost about a second of calls into JavaScript.
    The manifest's format: aws-cdk-lib cloud-assembly-schema (artifact types `aws:cloudformation:stack`, with
    `properties.templateFile`, and `cdk:cloud-assembly`, with `properties.directoryName`)."""
    problems = []
    for template_path, stack_name in _stack_templates(directory):
        template = json.loads(template_path.read_text())
        problems += cloudformation_limits.template_problems(
            stack_name, template_path.stat().st_size,
            sum(1 for r in template.get("Resources", {}).values() if r.get("Type") != "AWS::CDK::Metadata"),
            len(template.get("Outputs", {})))
    if problems:
        raise ConfigError(problems)


def _stack_templates(directory: Path) -> list[tuple[Path, str]]:
    """(template file, stack name) of every stack of the assembly in `directory` and of its nested assemblies."""
    manifest = json.loads((directory / "manifest.json").read_text())
    out = []
    for artifact_id, artifact in sorted(manifest.get("artifacts", {}).items()):
        properties = artifact.get("properties") or {}
        if artifact.get("type") == "aws:cloudformation:stack":
            out.append((directory / properties["templateFile"], properties.get("stackName") or artifact_id))
        elif artifact.get("type") == "cdk:cloud-assembly":
            out += _stack_templates(directory / properties["directoryName"])
    return out


def cli_context(app: cdk.App, key: str) -> Any:
    """Context value `key` as the CDK CLI passed it, nulls included.

    jsii drops the null members of objects on the way from the App to Python (`try_get_context` turns
    `{"a": null, "b": 1}` into `{"b": 1}`), so a null in cdk.json would silently become the default. The CLI hands
    the app its context as JSON in CDK_CONTEXT_JSON, and the top-level keys that do not fit in the environment in a
    file named by CONTEXT_OVERFLOW_LOCATION_ENV (aws-cdk CLI 2.1148, toolkit-lib prepare-source.ts
    `writeContextToEnv`); read there, the config reader sees (and refuses) every null.
    """
    sources = [os.environ.get("CDK_CONTEXT_JSON")]
    overflow = os.environ.get("CONTEXT_OVERFLOW_LOCATION_ENV")
    if overflow and os.path.exists(overflow):
        with open(overflow, encoding="utf-8") as f:
            sources.append(f.read())
    for text in sources:
        context = json.loads(text) if text else {}
        if key in context:
            return context[key]
    return app.node.try_get_context(key)


# Reports aws-cdk-lib writes into the output directory only when it has something to report (here: errors kept as
# annotations, @aws-cdk/core:annotationsInValidationReport in cdk.json) and never removes; the CDK CLI reads the
# report after every synth (loadUnifiedValidationReport), so an old one would fail a synth that has nothing wrong.
STALE_REPORTS = ("validation-report.json", "policy-validation-report.json")


def direct_run(argv: list[str]) -> dict:
    """The App's properties when run as `python app.py [-c KEY=VALUE ...]` rather than by the CDK CLI.

    The CLI hands the app cdk.json's and cdk.context.json's context (CDK_CONTEXT_JSON) and the output directory
    (CDK_OUTDIR). Run directly, the app reads the same files from the current directory and writes to cdk.out/.
    """
    if "CDK_OUTDIR" in os.environ:
        return {}
    context: dict = {}
    for name, key in (("cdk.json", "context"), ("cdk.context.json", None)):
        path = Path.cwd() / name
        if path.exists():
            data = json.loads(path.read_text())
            context.update(data.get(key, {}) if key else data)
    args = list(argv)
    while args:
        flag = args.pop(0)
        if flag in ("-c", "--context") and args and "=" in args[0]:
            key, _, value = args.pop(0).partition("=")
            context[key] = value
        else:
            raise SystemExit(f"usage: python app.py [-c KEY=VALUE ...] (e.g. -c env=prod), or npx cdk synth; "
                             f"not understood: {flag}")
    return {"context": context, "outdir": str(Path.cwd() / "cdk.out")}


def main(argv: list[str], build: Build) -> int:
    """Synthesize the environment (-c env=NAME, default dev) or the pipeline (-c pipeline=NAME) that `build` makes;
    returns the exit code."""
    # CDK's built-in template validation costs about 2.4 s of a 6.5 s synth of dev. The test suite runs it
    # on every change (with cfn-lint and cdk-nag); `-c validate=true` runs it on a synth too.
    app = cdk.App(builtin_cloud_formation_validation=False, **direct_run(argv))
    for report in STALE_REPORTS:
        (Path(app.outdir) / report).unlink(missing_ok=True)
    validate = str(app.node.try_get_context("validate")).lower() == "true"
    nag = str(app.node.try_get_context("nag")).lower() == "true"  # `make check-config`: cdk-nag AwsSolutions too
    if validate:
        cdk.Validations.of(app).add_plugins(cdk.CloudFormationValidatePlugin())
    if nag:
        from cdk_nag import AwsSolutionsChecks

        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    env_name = app.node.try_get_context("env") or "dev"
    pipeline_name = app.node.try_get_context("pipeline")
    try:
        if pipeline_name:  # -c pipeline=NAME: the delivery pipeline of context.pipelines.NAME, not one environment
            pipeline = load_pipeline(cli_context(app, "pipelines"), cli_context(app, "environments"), pipeline_name)
        else:
            config = load_environment(cli_context(app, "environments"), env_name)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    # Every environment this synth builds needs its AZ lookups in the context. `make context` (-c lookups=true) lets
    # CDK record the missing ones instead, which the CLI then looks up with credentials.
    configs = [stage.config for stage in pipeline.stages] if pipeline_name else [config]
    if str(app.node.try_get_context("lookups")).lower() != "true":
        messages = [preflight.missing_message(cfg, missing) for cfg in configs
                    if (missing := preflight.missing_az_lookups(cfg, app.node.try_get_context))]
        if messages:
            print("\n".join(dict.fromkeys(messages)), file=sys.stderr)
            return 1
    what = f"pipeline '{pipeline_name}'" if pipeline_name else f"environment '{env_name}'"
    compliance.record_acknowledgments(validate or nag)  # only the plugins read them
    try:
        if pipeline_name:
            from stacks.pipeline import PipelineStack, pipeline_stack_name  # only here: CDK Pipelines costs import time

            PipelineStack(app, pipeline_stack_name(pipeline), config=pipeline, build=build,
                          env=cdk.Environment(account=pipeline.account, region=pipeline.region),
                          description=f"federated-eks: delivery pipeline {pipeline.name}")
        else:
            build(app, config)
        check_templates(Path(app.synth().directory))
    except ConfigError as err:  # a manifest folder KubeFed would refuse (check_manifest_folders), a template too large
        print(err, file=sys.stderr)
        return 1
    except Exception as err:  # noqa: BLE001 - one line instead of a jsii/Python traceback; FEDEKS_DEBUG=1 shows it
        if os.environ.get("FEDEKS_DEBUG"):
            raise
        # aws-cdk-lib's errors reach Python as RuntimeError (jsii.errors.JavaScriptError) with CDK's message.
        text = (str(err).strip().splitlines() or [type(err).__name__])[0]
        # ValueError: a limit one of our constructs enforces while building (its message says which and the fix).
        origin = ("CDK refused the app" if isinstance(err, (RuntimeError, JSIIError))
                  else "a construct refused the config" if isinstance(err, ValueError) else "internal error")
        print(f"federated-eks: synth of {what} failed, {origin}: {text} "
              "(FEDEKS_DEBUG=1 shows the traceback; a limit the config checks should know: please report it)",
              file=sys.stderr)
        return 1
    finally:
        compliance.record_acknowledgments(True)
    if not os.environ.get("CDK_OUTDIR"):
        print(f"federated-eks: synthesized {what} into {app.outdir}", file=sys.stderr)
    return 0


