"""Workloads: the description read from the config (every rule, with its message), and its KubeFed rendering
(placement, overrides, replica scheduling, services), each member's Deployment and Service checked against the
Kubernetes schemas of every supported version (kubernetes-validate)."""
from __future__ import annotations

import copy

import jsonpatch
import kubernetes_validate
import pytest

from federated_eks.model import image_reference
from federated_eks.plan import kubefed_workload as kf
from federated_eks.config.fields import Reader as _Reader
from federated_eks.model.workload import ClusterOverride, Placement, ReplicaScheduling, ServiceSpec, Workload
from federated_eks.config.workload_reader import read_workloads

CLUSTERS = (("fed-1", "us-east-1"), ("fed-2", "us-east-2"), ("fed-3", "eu-west-1"))
P = "environments.t.workloads"
KUBERNETES_VERSIONS = ("1.34", "1.35", "1.36")

ECHO = {"name": "echo-server", "namespace": "echo", "image": "registry.k8s.io/echoserver:1.10",
        "containerPort": 8080, "placement": {"clusters": ["fed-1", "fed-2"]},
        "clusters": {"fed-1": {"replicas": 2}, "fed-2": {"replicas": 3}},
        "service": {"type": "LoadBalancer", "port": 80},
        "dns": {"hostedZoneId": "Z0123456789ABC", "recordName": "echo.example.com", "routing": "failover",
                "primary": "fed-1", "healthCheckPath": "/"}}
HELLO = {"name": "hello-world", "namespace": "federate-me", "image": "docker.io/particule/helloworld:v1",
         "containerPort": 80,
         "replicaScheduling": {"totalReplicas": 7, "rebalance": True, "clusters": {"*": {"weight": 1}}},
         "service": {"type": "ClusterIP", "port": 80}}


def read(raw, clusters=CLUSTERS):
    r = _Reader()
    workloads, folders = read_workloads(r, raw, P, clusters, reserved_namespaces=("kube-federation-system",))
    return workloads, r.problems


def problems_of(*items, clusters=CLUSTERS) -> list[str]:
    return read(list(items), clusters)[1]


def with_(base: dict, **changes) -> dict:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


# --- reading ------------------------------------------------------------------------------------------------

def test_the_issue_examples_read_into_the_model():
    (echo, hello), problems = read([ECHO, HELLO])
    assert problems == []
    assert echo.placement == Placement(clusters=("fed-1", "fed-2"))
    assert echo.replicas_on("fed-1") == 2 and echo.replicas_on("fed-2") == 3
    assert echo.service == ServiceSpec(type="LoadBalancer", port=80) and echo.load_balanced
    assert echo.dns.routing == "failover" and echo.dns.primary == "fed-1" and echo.dns.protocol == "HTTP"
    assert hello.placement.everywhere and hello.placement.resolve(CLUSTERS) == ("fed-1", "fed-2", "fed-3")
    assert hello.replica_scheduling.total_replicas == 7 and hello.replica_scheduling.rebalance
    assert hello.replicas_on("fed-1") is None  # decided by the scheduler at run time
    assert not hello.load_balanced and hello.dns is None


def test_defaults():
    (w,), problems = read([{"name": "web", "namespace": "web", "image": "nginx:1.29.3", "containerPort": 80}])
    assert problems == []
    assert w.replicas == 1 and w.placement.everywhere and w.service is None and w.env == ()
    assert w.replicas_on("fed-3") == 1


def test_placement_by_region_resolves_against_the_clusters():
    (w,), _ = read([with_(HELLO, placement={"regions": ["us-east-2", "eu-west-1"]})])
    assert w.placement.resolve(CLUSTERS) == ("fed-2", "fed-3")


@pytest.mark.parametrize("raw, expected", [
    ({"placement": {"clusters": ["fed-9"]}},
     f"{P}[0].placement.clusters[0]: 'fed-9' is not a cluster of this federation. Fix: use one of: fed-1, fed-2, "
     "fed-3"),
    ({"placement": {"regions": ["ap-south-1"]}},
     f"{P}[0].placement.regions[0]: no cluster of this federation is in 'ap-south-1'. Fix: use one of: "
     "eu-west-1, us-east-1, us-east-2"),
    ({"placement": {"clusters": ["fed-1"], "regions": ["us-east-1"]}},
     f"{P}[0].placement: must name either clusters or regions. Fix: use {{\"clusters\": [...]}} or "
     "{\"regions\": [...]}"),
    ({"placement": "everywhere"},
     f"{P}[0].placement: 'everywhere' is not a placement. Fix: use \"all\", {{\"clusters\": [\"fed-1\"]}} or "
     "{\"regions\": [\"us-east-1\"]}"),
    ({"placement": {"clusters": []}},
     f"{P}[0].placement.clusters: is empty, which would place the workload on no cluster. Fix: name at least one, "
     "or use \"all\" for every cluster"),
])
def test_placement_rules(raw, expected):
    base = {"name": "web", "namespace": "web", "image": "nginx:1.29.3", "containerPort": 80}
    assert problems_of({**base, **raw}) == [expected]


@pytest.mark.parametrize("image, expected", [
    ("nginx", "'nginx' is not pinned (no tag, or 'latest', follows whatever is pushed next)"),
    ("nginx:latest", "'nginx:latest' is not pinned (no tag, or 'latest', follows whatever is pushed next)"),
    ("Nginx:1.29", "'Nginx:1.29' is not an image reference"),
    ("nginx:1.29 ", "'nginx:1.29 ' is not an image reference"),
    ("registry.example.com:5000/team/app@sha256:abc", "'registry.example.com:5000/team/app@sha256:abc' is not "
                                                     "an image reference"),
])
def test_bad_image_references(image, expected):
    [problem] = problems_of(with_(HELLO, image=image))
    assert problem == (f"{P}[0].image: {expected}. Fix: pin a tag, e.g. \"registry.k8s.io/echoserver:1.10\", or "
                       "a digest, e.g. \"registry.k8s.io/echoserver@sha256:<64 hex digits>\" (print it with `docker "
                       "buildx imagetools inspect IMAGE:TAG` or `crane digest IMAGE:TAG`), and mirror it where your "
                       "nodes pull from")


@pytest.mark.parametrize("image", [
    "nginx:1.29.3", "docker.io/particule/helloworld:v1", "registry.example.com:5000/team/app_x__y.z-w:1.0-rc.1",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/echo@sha256:" + "a" * 64, "localhost/app:1",
])
def test_pinned_image_references(image):
    assert image_reference.problem(image) is None


def test_replica_scheduling_with_fixed_replicas_is_refused():
    raw = with_(HELLO, replicas=3, clusters={"fed-2": {"replicas": 2}})
    assert problems_of(raw) == [
        f"{P}[0].replicas: is set together with replicaScheduling, which decides the replicas. Fix: remove "
        "replicas, or remove replicaScheduling for a fixed count per cluster",
        f"{P}[0].clusters.fed-2.replicas: is a fixed count while replicaScheduling spreads the replicas. Fix: "
        "remove it and give the cluster a weight or min/max in replicaScheduling.clusters",
    ]


def test_replica_scheduling_rules():
    raw = with_(HELLO, replicaScheduling={"totalReplicas": 4, "clusters": {
        "fed-9": {"weight": 1}, "fed-1": {"weight": 0, "minReplicas": 3, "maxReplicas": 2}}})
    assert problems_of(raw) == [
        f"{P}[0].replicaScheduling.clusters.fed-9: 'fed-9' is not a cluster of this federation. Fix: use \"*\" "
        "or one of: fed-1, fed-2, fed-3",
        f"{P}[0].replicaScheduling.clusters.fed-1.maxReplicas: 2 is below minReplicas 3. Fix: make maxReplicas "
        ">= minReplicas",
    ]
    nothing = with_(HELLO, replicaScheduling={"totalReplicas": 4, "clusters": {"*": {"weight": 0}}})
    assert problems_of(nothing) == [
        f"{P}[0].replicaScheduling.clusters: gives every cluster weight 0 and minReplicas 0, so no replica runs "
        "anywhere. Fix: give at least one cluster (or \"*\") a weight, e.g. {\"*\": {\"weight\": 1}}"]
    assert problems_of(with_(HELLO, replicaScheduling={"rebalance": True})) == [
        f"{P}[0].replicaScheduling.totalReplicas: is required. Fix: set it, e.g. 7"]


def test_overrides_rules():
    raw = with_(ECHO, clusters={"fed-3": {"replicas": 1}, "fed-4": {}, "fed-1": {"replicas": -1, "cpu": 2,
                                                                                   "env": {"1X": "a"}}})
    assert problems_of(raw) == [
        f"{P}[0].clusters.fed-3: fed-3 is not in the workload's placement (fed-1, fed-2). Fix: place the workload "
        "on it, or remove its overrides",
        f"{P}[0].clusters.fed-4: 'fed-4' is not a cluster of this federation. Fix: use one of: fed-1, fed-2, fed-3",
        f"{P}[0].clusters.fed-1.cpu: unknown field. Fix: remove it or use one of: replicas, image, env",
        f"{P}[0].clusters.fed-1.replicas: -1 is out of range. Fix: use 0 or more",
        f"{P}[0].clusters.fed-1.env.1X: is not an environment variable name. Fix: use letters, digits, '_', '-' "
        "and '.', not starting with a digit",
    ]


@pytest.mark.parametrize("raw, expected", [
    ({"containerPort": 0}, f"{P}[0].containerPort: 0 is not a port number. Fix: use 1 to 65535"),
    ({"containerPort": "8080"}, f"{P}[0].containerPort: must be a whole number, got a string. Fix: write it like 8080"),
    ({"service": {"type": "ClusterIP", "port": 70000}},
     f"{P}[0].service.port: 70000 is not a port number. Fix: use 1 to 65535"),
    ({"service": {"type": "NodePort"}},
     f"{P}[0].service.type: 'NodePort' is not allowed. Fix: use one of: ClusterIP, LoadBalancer"),
    ({"service": {"type": "ClusterIP", "scheme": "internal"}},
     f"{P}[0].service.scheme: only applies to a LoadBalancer service, not ClusterIP. Fix: remove it, or set "
     "\"type\": \"LoadBalancer\""),
    ({"name": "9lives"}, f"{P}[0].name: '9lives' is not a DNS-1035 label (it names the Deployment and the "
                         "Service). Fix: use at most 63 lowercase letters, digits and '-', starting with a letter"),
    ({"namespace": "kube-system"}, f"{P}[0].namespace: 'kube-system' is a system namespace; a workload's "
                                   "namespace is federated and deleted with it. Fix: give the workload a namespace "
                                   "of its own"),
    ({"namespace": "kube-federation-system"}, f"{P}[0].namespace: 'kube-federation-system' is a system namespace; "
                                              "a workload's namespace is federated and deleted with it. Fix: give "
                                              "the workload a namespace of its own"),
    ({"replicas": 2, "replicaScheduling": None, "size": 3},
     f"{P}[0].size: unknown field. Fix: remove it or use one of: name, namespace, image, containerPort, replicas, "
     "placement, clusters, env, replicaScheduling, service, dns"),
])
def test_field_rules(raw, expected):
    assert problems_of(with_(HELLO, **raw)) == [expected]


def test_duplicate_workload():
    assert problems_of(HELLO, with_(HELLO, image="nginx:1.29.3")) == [
        f"{P}[1].name: workload federate-me/hello-world is already described by {P}[0]. Fix: give each workload "
        "in a namespace its own name"]


def test_workloads_must_be_a_list():
    assert read({"name": "x"})[1] == [
        f"{P}: must be a list, got an object. Fix: list workload objects, e.g. [{{\"name\": \"web\", "
        "\"namespace\": \"web\", \"image\": \"nginx:1.29\", \"containerPort\": 80}]"]


# --- DNS rules ----------------------------------------------------------------------------------------------

def dns(**changes) -> dict:
    merged = {**ECHO["dns"], **changes}
    return with_(ECHO, dns={k: v for k, v in merged.items() if v is not None})


@pytest.mark.parametrize("raw, expected", [
    (with_(ECHO, placement="all", clusters={}),
     f"{P}[0].dns.routing: failover needs exactly two placed clusters, the workload has 3 (fed-1, fed-2, fed-3). "
     "Fix: place it on two clusters, or use \"latency\" or \"weighted\" routing"),
    (dns(primary="fed-3"), f"{P}[0].dns.primary: 'fed-3' is not a placed cluster of the workload. Fix: use one of: "
                           "fed-1, fed-2"),
    (dns(primary=None), f"{P}[0].dns.primary: is required with failover routing. Fix: name the cluster that serves "
                        "while healthy, one of: fed-1, fed-2"),
    (dns(routing="latency"), f"{P}[0].dns.primary: only applies to failover routing, not latency. Fix: remove it, "
                             "or use \"routing\": \"failover\""),
    (dns(routing="geo"), f"{P}[0].dns.routing: 'geo' is not allowed. Fix: use one of: failover, latency, weighted"),
    (dns(hostedZoneId="example.com"), f"{P}[0].dns.hostedZoneId: 'example.com' is not a Route 53 hosted zone id. "
                                      "Fix: copy the zone's id (Z followed by capitals and digits) from the Route 53 "
                                      "console"),
    (dns(recordName="echo"), f"{P}[0].dns.recordName: 'echo' is not a fully qualified DNS name. Fix: use a name "
                             "in the hosted zone, e.g. echo.example.com (the zone apex works too: the records are "
                             "aliases)"),
    (dns(protocol="HTTPS"), f"{P}[0].dns.protocol: HTTPS health checks on port 80, which serves plain HTTP (the load "
                            "balancer passes TCP through: TLS would have to come from the container), so every check "
                            "fails. Fix: use \"HTTP\", or serve TLS from the container on another port (e.g. "
                            "\"port\": 443, \"targetPort\": 8443)"),
    (dns(healthCheckPath="healthz"), f"{P}[0].dns.healthCheckPath: 'healthz' is not a URL path. Fix: start it "
                                     "with \"/\", at most 255 characters, no spaces"),
    (dns(protocol="TCP"), f"{P}[0].dns.protocol: 'TCP' is not allowed. Fix: use one of: HTTP, HTTPS"),
    (dns(weights={"fed-1": 1}), f"{P}[0].dns.weights: only applies to weighted routing, not failover. Fix: remove "
                                "it, or use \"routing\": \"weighted\""),
    (dns(routing="weighted", primary=None, weights={"fed-1": 256}),
     f"{P}[0].dns.weights.fed-1: 256 is not a Route 53 weight. Fix: use a whole number from 0 to 255"),
    (with_(ECHO, service={"type": "ClusterIP"}),
     f"{P}[0].dns: needs an internet-facing LoadBalancer service: the public hosted zone answers with each "
     "cluster's load balancer, which clients then reach from the internet. Fix: set \"service\": {\"type\": \"LoadBalancer\", "
     "\"port\": 80}"),
    (with_(ECHO, service={"type": "LoadBalancer", "scheme": "internal"}),
     f"{P}[0].dns: needs an internet-facing LoadBalancer service: the public hosted zone answers with each "
     "cluster's load balancer, which clients then reach from the internet. Fix: set \"service\": {\"type\": \"LoadBalancer\", "
     "\"port\": 80}"),
])
def test_dns_rules(raw, expected):
    assert problems_of(raw) == [expected]


def test_https_checks_on_a_tls_port_and_records_at_the_apex_are_accepted():
    (w,), problems = read([with_(dns(protocol="HTTPS", recordName="example.com"),
                                 service={"type": "LoadBalancer", "port": 443, "targetPort": 8443})])
    assert problems == [] and w.dns.protocol == "HTTPS" and w.dns.record_name == "example.com"


def test_latency_and_weighted_take_any_number_of_clusters():
    (w,), problems = read([dns(routing="weighted", primary=None, weights={"fed-2": 3}) | {"placement": "all",
                                                                                          "clusters": {}}])
    assert problems == [] and w.dns.weight("fed-2") == 3 and w.dns.weight("fed-1") == 1
    (w,), problems = read([dns(routing="latency", primary=None, recordName="Echo.Example.com.")
                           | {"placement": "all", "clusters": {}}])
    assert problems == [] and w.dns.record_name == "echo.example.com"


# --- rendering ----------------------------------------------------------------------------------------------

def member_copy(federated: dict, cluster: str, kind: str, api_version: str) -> dict:
    """What KubeFed's sync controller sends to `cluster`: the template with that cluster's overrides applied,
    the federated object's name and namespace (pkg/controller/sync/resource.go)."""
    obj = copy.deepcopy(federated["spec"]["template"])
    obj.update(apiVersion=api_version, kind=kind)
    obj.setdefault("metadata", {}).update(name=federated["metadata"]["name"],
                                          namespace=federated["metadata"]["namespace"])
    for o in federated["spec"].get("overrides", []):
        if o["clusterName"] == cluster:
            patch = [{"op": p.get("op", "replace"), "path": p["path"], "value": p.get("value")}
                     for p in o["clusterOverrides"]]
            obj = jsonpatch.apply_patch(obj, patch)
    return obj


def validate_everywhere(obj: dict) -> None:
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(obj, version, strict=True)


def test_fixed_replicas_render_as_overrides_and_valid_member_deployments():
    (echo,), _ = read([with_(ECHO, env={"GREETING": "hi"}, clusters={
        "fed-1": {"replicas": 2}, "fed-2": {"replicas": 3, "image": "registry.k8s.io/echoserver:1.9",
                                            "env": {"REGION": "east-2"}}})])
    fd = kf.deployment(echo)
    assert fd["apiVersion"] == "types.kubefed.io/v1beta1" and fd["kind"] == "FederatedDeployment"
    assert fd["metadata"]["name"] == "echo-server" and fd["metadata"]["namespace"] == "echo"
    assert fd["spec"]["placement"] == {"clusters": [{"name": "fed-1"}, {"name": "fed-2"}]}
    one = member_copy(fd, "fed-1", "Deployment", "apps/v1")
    two = member_copy(fd, "fed-2", "Deployment", "apps/v1")
    assert one["spec"]["replicas"] == 2 and two["spec"]["replicas"] == 3
    assert one["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.k8s.io/echoserver:1.10"
    assert two["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.k8s.io/echoserver:1.9"
    assert one["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "GREETING", "value": "hi"}]
    assert two["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "GREETING", "value": "hi"}, {"name": "REGION", "value": "east-2"}]
    assert one["spec"]["selector"]["matchLabels"] == one["spec"]["template"]["metadata"]["labels"] == {
        "app": "echo-server"}
    for member in (one, two):
        validate_everywhere(member)


def test_env_override_applies_to_a_template_without_env():
    w = Workload(name="web", namespace="web", image="nginx:1.29.3", container_port=80,
                 overrides=(("fed-2", ClusterOverride(env=(("A", "1"),))),))
    member = member_copy(kf.deployment(w), "fed-2", "Deployment", "apps/v1")
    assert member["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]
    validate_everywhere(member)


def test_replica_scheduling_leaves_placement_and_replicas_to_the_scheduler():
    (hello,), _ = read([HELLO])
    fd, rsp, svc = kf.workload_objects(hello)
    assert "placement" not in fd["spec"] and "overrides" not in fd["spec"]
    assert "replicas" not in fd["spec"]["template"]["spec"]
    assert rsp == {"apiVersion": "scheduling.kubefed.io/v1alpha1", "kind": "ReplicaSchedulingPreference",
                   "metadata": {"name": "hello-world", "namespace": "federate-me",
                                "labels": {"app.kubernetes.io/managed-by": "federated-eks"}},
                   "spec": {"targetKind": "FederatedDeployment", "totalReplicas": 7, "rebalance": True,
                            "clusters": {"*": {"weight": 1, "minReplicas": 0}}}}
    assert svc["spec"]["placement"] == {"clusterSelector": {}}
    validate_everywhere(member_copy(fd, "fed-1", "Deployment", "apps/v1"))


def test_replica_scheduling_on_listed_clusters_names_them_in_the_preference():
    (w,), _ = read([with_(HELLO, placement={"clusters": ["fed-1", "fed-3"]}, replicaScheduling={
        "totalReplicas": 6, "clusters": {"*": {"weight": 2}, "fed-3": {"weight": 1, "maxReplicas": 2}}})])
    rsp = kf.replica_scheduling(w)
    # fed-2 has no key and no "*": KubeFed gives it weight 0, so replicas stay on the listed clusters.
    assert rsp["spec"]["clusters"] == {"fed-1": {"weight": 2, "minReplicas": 0},
                                       "fed-3": {"weight": 1, "minReplicas": 0, "maxReplicas": 2}}
    assert "placement" not in kf.deployment(w)["spec"]


def test_replica_scheduling_by_region_intersects_with_the_selector():
    (w,), _ = read([with_(HELLO, placement={"regions": ["eu-west-1"]})])
    fd, rsp, _ = kf.workload_objects(w)
    assert fd["spec"]["placement"] == {"clusterSelector": {"matchExpressions": [
        {"key": "topology.kubernetes.io/region", "operator": "In", "values": ["eu-west-1"]}]}}
    assert rsp["spec"]["intersectWithClusterSelector"] is True


def test_load_balancer_service_for_the_aws_load_balancer_controller():
    (echo,), _ = read([ECHO])
    svc = kf.service(echo)
    assert svc["spec"]["placement"] == {"clusters": [{"name": "fed-1"}, {"name": "fed-2"}]}
    member = member_copy(svc, "fed-2", "Service", "v1")
    assert member["spec"]["type"] == "LoadBalancer"
    assert member["spec"]["loadBalancerClass"] == "service.k8s.aws/nlb"
    assert member["metadata"]["annotations"] == {
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
        "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip"}
    assert member["spec"]["ports"] == [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]
    validate_everywhere(member)
    (hello,), _ = read([HELLO])
    plain = member_copy(kf.service(hello), "fed-1", "Service", "v1")
    assert "loadBalancerClass" not in plain["spec"] and "annotations" not in plain.get("metadata", {})
    validate_everywhere(plain)


def test_namespaces_are_federated_once_where_their_workloads_run():
    a = Workload(name="a", namespace="shop", image="nginx:1.29.3", container_port=80,
                 placement=Placement(clusters=("fed-1",)))
    b = Workload(name="b", namespace="shop", image="nginx:1.29.3", container_port=80,
                 placement=Placement(regions=("eu-west-1",)))
    c = Workload(name="c", namespace="blog", image="nginx:1.29.3", container_port=80)
    shop, blog = kf.namespaces([a, b, c], CLUSTERS)
    assert shop["metadata"] == {"name": "shop", "namespace": "shop",
                                "labels": {"app.kubernetes.io/managed-by": "federated-eks"}}
    assert shop["spec"]["placement"] == {"clusters": [{"name": "fed-1"}, {"name": "fed-3"}]}
    assert blog["spec"]["placement"] == {"clusterSelector": {}}
    validate_everywhere(member_copy({**shop, "spec": {**shop["spec"], "template": {}}}, "fed-1", "Namespace", "v1")
                        | {"metadata": {"name": "shop"}})


def test_the_description_knows_nothing_of_kubefed():
    import federated_eks.model.workload as description
    source = open(description.__file__).read()
    # Its only import of the project: the documentation metadata of its fields (federated_eks/model/field_doc.py, pure).
    assert "kubefed.io" not in source and "import" not in source.replace("from __future__ import", "").replace(
        "from dataclasses import", "").replace("from typing import", "").replace(
        "from federated_eks.model.field_doc import", "")
    assert ReplicaScheduling(total_replicas=3).clusters == ()


@pytest.mark.parametrize("raw", [ECHO, HELLO, with_(HELLO, placement={"regions": ["eu-west-1"]}, env={"A": "1"},
                                                   service={"type": "LoadBalancer", "port": 443, "targetPort": 8443,
                                                            "scheme": "internal"}),
                                 with_(dns(routing="weighted", primary=None, weights={"fed-2": 0, "fed-1": 2},
                                           protocol="HTTPS", ttl=30), service={"type": "LoadBalancer", "port": 443,
                                                                               "targetPort": 8443})])
def test_typed_workloads_round_trip_through_the_config_reader(raw):
    from federated_eks.config.workload_reader import to_config
    (w,), problems = read([raw])
    assert problems == []
    (again,), problems = read([to_config(w)])
    assert problems == [] and again == w


def test_load_balanced_clusters_are_where_load_balanced_workloads_run():
    from federated_eks.model.workload import load_balanced_clusters
    (echo, hello), _ = read([ECHO, HELLO])
    assert load_balanced_clusters([echo, hello], CLUSTERS) == ("fed-1", "fed-2")
    assert load_balanced_clusters([hello], CLUSTERS) == ()


# --- through the whole config ---------------------------------------------------------------------------------

def test_config_reads_workloads_and_the_load_balancer_controller():
    from fedtest import environment
    from federated_eks.config.reader import load_environment
    cfg = load_environment({"t": environment(2, workloads=[with_(ECHO, dns=None)],
                                              loadBalancerController={"imageRepository": "mirror.example.com/lbc"})},
                           "t")
    assert [w.name for w in cfg.workloads] == ["echo-server"]
    assert cfg.load_balancer_controller.image_repository == "mirror.example.com/lbc"
    assert cfg.load_balancer_controller.chart_repository == "https://aws.github.io/eks-charts"


@pytest.mark.parametrize("changes, expected", [
    ({"kubefed": {"scope": "Namespaced"}},
     "environments.t.workloads: needs kubefed.scope Cluster (it is Namespaced: KubeFed then federates only inside "
     "kube-federation-system). Fix: set kubefed.scope to \"Cluster\", or remove the workloads"),
    ({"loadBalancerController": {"imageRepository": "mirror.example.com/lbc:v1"}},
     "environments.t.loadBalancerController.imageRepository: 'mirror.example.com/lbc:v1' is not an image repository "
     "(no tag or digest). Fix: write it like \"602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/"
     "aws-load-balancer-controller\"; the tag is the controller version"),
    ({"loadBalancerController": {"chartRepository": "http://charts.example.com"}},
     "environments.t.loadBalancerController.chartRepository: 'http://charts.example.com' is not an https:// or "
     "oci:// URL. Fix: point it at the eks-charts repository or a mirror of it"),
    ({"externalDns": {"imageRepository": "mirror.example.com/external-dns@sha256:ab"}},
     "environments.t.externalDns.imageRepository: 'mirror.example.com/external-dns@sha256:ab' is not an image "
     "repository (no tag or digest). Fix: write it like \"registry.k8s.io/external-dns/external-dns\"; the tag is "
     "ExternalDNS's pinned version"),
    ({"externalDns": {"chartRepository": "charts.example.com"}},
     "environments.t.externalDns.chartRepository: 'charts.example.com' is not an https:// or oci:// URL. Fix: point "
     "it at the external-dns chart repository or a mirror of it"),
])
def test_config_rules_around_workloads(changes, expected):
    from fedtest import environment
    from federated_eks.config.reader import ConfigError, load_environment
    with pytest.raises(ConfigError) as err:
        load_environment({"t": environment(2, workloads=[with_(ECHO, dns=None)], **changes)}, "t")
    assert err.value.problems == [expected]


def test_load_balancer_controller_install_always_puts_it_on_every_cluster():
    from fedtest import environment
    from federated_eks.plan import topology
    from federated_eks.config.reader import ConfigError, load_environment
    auto = load_environment({"t": environment(3, workloads=[with_(ECHO, dns=None)])}, "t")
    assert topology.load_balancer_clusters(auto) == ("fed-1", "fed-2")
    always = load_environment({"t": environment(3, loadBalancerController={"install": "always"})}, "t")
    assert topology.load_balancer_clusters(always) == ("fed-1", "fed-2", "fed-3")
    assert topology.load_balancer_clusters(load_environment({"t": environment(3)}, "t")) == ()
    with pytest.raises(ConfigError) as err:
        load_environment({"t": environment(3, loadBalancerController={"install": "yes"})}, "t")
    assert err.value.problems == ["environments.t.loadBalancerController.install: 'yes' is not allowed. Fix: use one "
                                  "of: auto, always"]


def test_the_echo_server_sample_is_devs_workload_plus_dns():
    import json as json_
    from fedtest import ENVIRONMENTS, ROOT
    sample = json_.loads((ROOT / "samples/echo-server/workload.json").read_text())
    (w,), problems = read([sample], clusters=(("fed-1", "us-east-1"), ("fed-2", "us-east-2")))
    assert problems == [] and w.dns.routing == "failover" and w.dns.primary == "fed-1"
    dev = ENVIRONMENTS["dev"]["workloads"]
    assert with_(sample, dns=None) in dev
