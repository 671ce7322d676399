"""What the rendered chart means: order, retries, conditions, images, secrets, schedule, RBAC, pods."""

from __future__ import annotations

import re
from datetime import date, timedelta

import yaml
from tests.chart.manifests import (
    CHART,
    REPO,
    Manifest,
    by_kind,
    container,
    driver_env,
    env_values,
    helm,
    named,
    one,
    pod_template,
    render,
    spark_applications,
)

from breweries.errors import SettingsError
from breweries.pipeline import STAGES
from breweries.settings import DEFAULT_API_URL, Settings
from breweries.spark import PARALLEL_GC, QUICK_JIT

# The workflow's step and template names: the stages' components, in pipeline order.
STAGE_ORDER = [stage.component for stage in STAGES]


def templates_by_name(workflow_template: Manifest) -> dict[str, Manifest]:
    return {t["name"]: t for t in workflow_template["spec"]["templates"]}


def test_every_stage_step_retries_three_times_with_2s_doubling_backoff(default_manifests) -> None:
    templates = templates_by_name(one(default_manifests, "WorkflowTemplate"))
    for stage in STAGE_ORDER:
        retry = templates[stage]["retryStrategy"]
        assert retry["limit"] == 3
        assert retry["backoff"]["duration"] == "2s"
        assert retry["backoff"]["factor"] == 2
        assert retry["backoff"]["maxDuration"] == "14400s"  # (3 + 1) attempts x 3600 s
        assert templates[stage]["activeDeadlineSeconds"] == 3600


def test_retry_numbers_come_from_values() -> None:
    manifests = render(
        "--set", "workflow.retry.limit=5", "--set", "workflow.retry.backoffDuration=10s",
        "--set", "workflow.retry.backoffFactor=3", "--set", "workflow.stageDeadlineSeconds=900",
    )  # fmt: skip
    silver = templates_by_name(one(manifests, "WorkflowTemplate"))["silver"]
    assert silver["retryStrategy"]["limit"] == 5
    assert silver["retryStrategy"]["backoff"] == {"duration": "10s", "factor": 3, "maxDuration": "5400s"}
    assert silver["activeDeadlineSeconds"] == 900


def test_steps_create_spark_applications_and_wait_for_a_final_state(default_manifests) -> None:
    templates = templates_by_name(one(default_manifests, "WorkflowTemplate"))
    for stage in STAGE_ORDER:
        resource = templates[stage]["resource"]
        assert resource["action"] == "create"
        assert resource["setOwnerReference"] is True
        assert resource["successCondition"] == "status.applicationState.state == COMPLETED"
        # SUBMISSION_FAILED is transient (the operator resubmits): only FAILED fails the step, or
        # the driver's own word that it failed for good (each requirement fails the step alone).
        assert resource["failureCondition"] == (
            "metadata.labels.breweries/retryable == false,status.applicationState.state == FAILED"
        )


def test_spark_applications_use_generated_names_and_no_operator_restarts(default_manifests) -> None:
    for name, app in spark_applications(one(default_manifests, "WorkflowTemplate")).items():
        assert "name" not in app["metadata"], f"{name}: a fixed name collides when the step is retried"
        assert app["metadata"]["generateName"] == f"breweries-{name}-"
        assert app["spec"]["restartPolicy"] == {"type": "Never"}
        assert app["spec"]["type"] == "Python"
        assert app["spec"]["mode"] == "cluster"
        assert app["spec"]["sparkVersion"] == "4.0.1"
        assert app["spec"]["timeToLiveSeconds"] == 86400


def test_run_date_defaults_to_the_creation_date_and_reaches_every_stage(default_manifests) -> None:
    template = one(default_manifests, "WorkflowTemplate")
    params = {p["name"]: p for p in template["spec"]["arguments"]["parameters"]}
    assert params["run-date"]["value"] == (
        "{{workflow.creationTimestamp.Y}}-{{workflow.creationTimestamp.m}}-{{workflow.creationTimestamp.d}}"
    )
    main = templates_by_name(template)["main"]["steps"][0][0]
    passed = {p["name"]: p["value"] for p in main["arguments"]["parameters"]}
    assert passed == {
        "run-date": "{{workflow.parameters.run-date}}",
        "force": "{{workflow.parameters.force}}",
        "spark-executors-above": "{{workflow.parameters.spark-executors-above}}",
    }


def test_the_executors_threshold_reaches_every_stage_driver_from_a_parameter_the_value_defaults() -> None:
    template = one(render("--set", "spark.executorsAbove=2Gi"), "WorkflowTemplate")
    params = {p["name"]: p for p in template["spec"]["arguments"]["parameters"]}
    assert params["spark-executors-above"]["value"] == "2Gi"
    # A backfill calls the pipeline template without it: the template's own default is the value.
    pipeline = templates_by_name(template)["pipeline"]
    inputs = {p["name"]: p.get("value") for p in pipeline["inputs"]["parameters"]}
    assert inputs["spark-executors-above"] == "2Gi"
    for stage, app in spark_applications(template).items():
        assert env_values(app)["BREWERIES_SPARK_EXECUTORS_ABOVE"] == (
            "{{inputs.parameters.spark-executors-above}}"
        ), stage


def test_drivers_stop_at_c1_every_jvm_collects_in_parallel_unless_extra_conf_says_otherwise() -> None:
    for app in spark_applications(one(render(), "WorkflowTemplate")).values():
        conf = app["spec"]["sparkConf"]
        assert conf["spark.driver.extraJavaOptions"] == f"{PARALLEL_GC} {QUICK_JIT}"
        assert conf["spark.executor.extraJavaOptions"] == PARALLEL_GC
    own = render("--set-string", "spark.extraConf.spark\\.driver\\.extraJavaOptions=-XX:+UseG1GC")
    for app in spark_applications(one(own, "WorkflowTemplate")).values():
        assert app["spec"]["sparkConf"]["spark.driver.extraJavaOptions"] == "-XX:+UseG1GC"


def test_each_stage_step_polls_its_application_at_the_values_interval() -> None:
    templates = templates_by_name(one(render("--set", "workflow.stateCheckInterval=2s"), "WorkflowTemplate"))
    for stage in STAGES:
        patch = yaml.safe_load(templates[stage.component]["podSpecPatch"])
        assert patch == {
            "containers": [
                {"name": "main", "env": [{"name": "RESOURCE_STATE_CHECK_INTERVAL", "value": "2s"}]}
            ]
        }


def test_the_values_schema_accepts_exactly_the_sizes_the_drivers_accept() -> None:
    pattern = yaml.safe_load((CHART / "values.schema.json").read_text())["properties"]["spark"]["properties"]
    accepted = re.compile(pattern["executorsAbove"]["pattern"])
    for text in ("0", "256m", "2g", "2Gi", "1048576", "3T", "", "abc", "1.5g", "2gb", "-1", "01m"):
        by_chart = accepted.search(text) is not None
        try:
            by_driver = Settings(spark_executors_above=text) is not None
        except SettingsError:
            by_driver = False
        assert by_chart == by_driver, text


def test_runs_of_the_same_date_are_serialized_by_a_mutex(default_manifests) -> None:
    pipeline = templates_by_name(one(default_manifests, "WorkflowTemplate"))["pipeline"]
    assert pipeline["synchronization"] == {"mutexes": [{"name": "breweries-{{inputs.parameters.run-date}}"}]}


def test_on_exit_notifies_only_when_the_workflow_did_not_succeed(all_on_manifests) -> None:
    template = one(all_on_manifests, "WorkflowTemplate")
    templates = templates_by_name(template)
    assert template["spec"]["onExit"] == "exit-handler"
    step = templates["exit-handler"]["steps"][0][0]
    assert step["template"] == "notify-failure"
    assert step["when"] == "{{workflow.status}} != Succeeded"
    container = templates["notify-failure"]["container"]
    assert container["image"] == "registry.example.com/data/breweries-base:0.1.0-rc1"
    assert container["command"] == ["breweries", "notify"]
    assert container["args"] == [
        "--status={{workflow.status}}",
        "--workflow={{workflow.name}}",
        "--run-date={{inputs.parameters.run-date}}",
        "--failures={{workflow.failures}}",
        "--link=https://argo.example.com/workflows/{{workflow.namespace}}/{{workflow.name}}",
    ]
    url = next(e for e in container["env"] if e["name"] == "BREWERIES_WEBHOOK_URL")
    assert url["valueFrom"]["secretKeyRef"] == {"name": "breweries-webhook", "key": "url"}


def test_workflow_metrics_record_duration_and_a_status_counter(default_manifests) -> None:
    metrics = one(default_manifests, "WorkflowTemplate")["spec"]["metrics"]["prometheus"]
    by_name = {m["name"]: m for m in metrics}
    assert by_name["breweries_workflow_duration_seconds"]["gauge"]["value"] == "{{workflow.duration}}"
    assert by_name["breweries_workflow_result_total"]["counter"] == {"value": "1"}
    assert by_name["breweries_workflow_result_total"]["labels"] == [
        {"key": "status", "value": "{{workflow.status}}"}
    ]


def test_cron_workflow_runs_daily_in_utc_and_passes_the_scheduled_date(default_manifests) -> None:
    cron = named(default_manifests, "CronWorkflow", "breweries-daily")
    spec = cron["spec"]
    assert spec["schedules"] == ["0 6 * * *"]
    assert "schedule" not in spec  # removed in Argo 4
    assert spec["timezone"] == "UTC"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] == 3600
    assert spec["workflowSpec"]["workflowTemplateRef"] == {"name": "breweries"}
    params = spec["workflowSpec"]["arguments"]["parameters"]
    assert params == [{"name": "run-date", "value": "{{=sprig.substr(0, 10, workflow.scheduledTime)}}"}]


def test_no_secret_value_is_rendered_inline(all_on_manifests) -> None:
    # Every credential reaches a container through secretKeyRef; no env var holding a secret has a value.
    secret_names = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "BREWERIES_PSEUDONYMIZATION_KEY",
                    "BREWERIES_WEBHOOK_URL", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD",
                    "BREWERIES_CATALOG_USER", "BREWERIES_CATALOG_PASSWORD", "POSTGRES_USER",
                    "POSTGRES_PASSWORD"}  # fmt: skip
    envs = list(_env_vars(all_on_manifests))
    assert {e["name"] for e in envs} & secret_names == secret_names
    for env in envs:
        if env["name"] in secret_names:
            assert "value" not in env, env["name"]
            assert set(env["valueFrom"]) == {"secretKeyRef"}, env["name"]
    assert by_kind(all_on_manifests, "Secret") == []
    text = yaml.safe_dump_all(all_on_manifests)
    assert not re.search(r"(access|secret)[._-]?key\s*[:=]\s*\S", text, re.IGNORECASE)


def test_the_pseudonymization_key_reaches_only_the_stage_that_needs_it(default_manifests) -> None:
    needs_key = {s.component for s in STAGES if "pseudonymization_key" in s.needs}
    assert needs_key == {"silver-anonymized"}
    for name, app in spark_applications(one(default_manifests, "WorkflowTemplate")).items():
        names = set(env_values(app, "driver")) | set(env_values(app, "executor"))
        assert ("BREWERIES_PSEUDONYMIZATION_KEY" in names) == (name in needs_key), name


def test_s3a_settings_match_the_object_store(all_on_manifests) -> None:
    app = spark_applications(one(all_on_manifests, "WorkflowTemplate"))["silver"]
    hadoop = app["spec"]["hadoopConf"]
    assert hadoop["fs.s3a.endpoint"] == "https://s3.example.com"
    assert hadoop["fs.s3a.connection.ssl.enabled"] == "true"
    assert hadoop["fs.s3a.path.style.access"] == "false"
    assert hadoop["fs.s3a.endpoint.region"] == "eu-west-1"
    assert hadoop["fs.s3a.committer.name"] == "magic"
    conf = app["spec"]["sparkConf"]
    assert conf["spark.sql.sources.commitProtocolClass"].endswith("PathOutputCommitProtocol")
    assert conf["spark.sql.shuffle.partitions"] == "64"
    env = env_values(app)
    assert env["BREWERIES_S3_ENDPOINT"] == "https://s3.example.com"
    assert env["BREWERIES_SILVER_URI"] == "s3a://breweries-silver"
    assert env["BREWERIES_SILVER_ANONYMIZED_URI"] == "s3a://breweries-silver-anonymized"
    assert env["BREWERIES_LOG_FORMAT"] == "json"


def test_minio_endpoint_is_used_when_minio_is_on_and_no_endpoint_is_set() -> None:
    manifests = render("--set", "minio.enabled=true")
    app = spark_applications(one(manifests, "WorkflowTemplate"))["gold"]
    assert app["spec"]["hadoopConf"]["fs.s3a.endpoint"] == "http://breweries-minio:9000"
    assert app["spec"]["hadoopConf"]["fs.s3a.connection.ssl.enabled"] == "false"
    job = one(manifests, "Job")
    env = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["BUCKETS"].split() == sorted(
        [
            "breweries-bronze",
            "breweries-silver",
            "breweries-silver-anonymized",
            "breweries-gold",
            "breweries-state",
            "breweries-spark-events",
        ]
    )


def test_rbac_is_namespaced_and_minimal(default_manifests) -> None:
    assert by_kind(default_manifests, "ClusterRole") == by_kind(default_manifests, "ClusterRoleBinding") == []
    roles = {r["metadata"]["name"]: r["rules"] for r in by_kind(default_manifests, "Role")}
    assert roles["breweries-workflow"] == [
        {"apiGroups": ["sparkoperator.k8s.io"], "resources": ["sparkapplications"],
         "verbs": ["create", "get", "list", "watch", "delete", "patch"]},
        {"apiGroups": ["argoproj.io"], "resources": ["workflows/finalizers"], "verbs": ["update"]},
        {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]},
    ]  # fmt: skip
    assert roles["breweries-spark"] == [
        {"apiGroups": [""], "resources": ["pods", "services", "configmaps", "persistentvolumeclaims"],
         "verbs": ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]},
        {"apiGroups": ["sparkoperator.k8s.io"], "resources": ["sparkapplications"], "verbs": ["patch"]},
    ]  # fmt: skip
    template = one(default_manifests, "WorkflowTemplate")
    assert template["spec"]["serviceAccountName"] == "breweries-workflow"
    for app in spark_applications(template).values():
        assert app["spec"]["driver"]["serviceAccount"] == "breweries-spark"


def test_every_pod_is_non_root_without_escalation_or_capabilities(all_on_manifests) -> None:
    template = one(all_on_manifests, "WorkflowTemplate")
    contexts = [t["container"]["securityContext"] for t in template["spec"]["templates"] if "container" in t]
    contexts += [t["script"]["securityContext"] for t in template["spec"]["templates"] if "script" in t]
    for app in spark_applications(template).values():
        for role in ("driver", "executor"):
            pod = pod_template(app, role)["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            contexts.append(container(app, role)["securityContext"])
    for workload in by_kind(all_on_manifests, "Deployment") + by_kind(all_on_manifests, "Job"):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        contexts += [c["securityContext"] for c in pod["containers"]]
        assert all("resources" in c and c["resources"]["limits"] for c in pod["containers"])
    assert len(contexts) >= 14
    for context in contexts:
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}


def test_generated_names_stay_under_kubernetes_limits() -> None:
    manifests = render("--set", "fullnameOverride=a-twenty-char-prefix")
    for name, app in spark_applications(one(manifests, "WorkflowTemplate")).items():
        # generateName adds 5 characters; the driver pod adds "-driver".
        assert len(app["metadata"]["generateName"]) + 5 + len("-driver") <= 63, name
    for manifest in manifests:
        assert len(manifest["metadata"]["name"]) <= 63


def test_every_value_is_documented_with_a_helm_docs_comment() -> None:
    """Each leaf value, or the map that holds it (helm-docs documents a map as one value), has `# --`."""
    lines = (CHART / "values.yaml").read_text().splitlines()

    def documented(number: int) -> bool:
        for previous in reversed(lines[:number]):
            if not previous.strip().startswith("#"):
                return False
            if previous.strip().startswith("# --"):
                return True
        return False

    def parent(number: int) -> int | None:
        indent = len(lines[number]) - len(lines[number].lstrip())
        for candidate in range(number - 1, -1, -1):
            text = lines[candidate]
            if text.strip() and not text.strip().startswith("#") and len(text) - len(text.lstrip()) < indent:
                return candidate
        return None

    undocumented = []
    for number, line in enumerate(lines):
        match = re.match(r"^\s*[A-Za-z]\w*:(.*)$", line)
        if not match or not match.group(1).strip():
            continue  # a map: judged through its leaves
        holder: int | None = number
        while holder is not None and not documented(holder):
            holder = parent(holder)
        if holder is None:
            undocumented.append(f"line {number + 1}: {line.strip()}")
    assert undocumented == []


def test_notes_tell_the_user_how_to_submit_watch_and_find_the_data() -> None:
    result = helm("install", "breweries", str(CHART), "--dry-run=client", "--namespace", "data")
    assert result.returncode == 0, result.stderr
    notes = result.stdout.split("NOTES:", 1)[1]
    assert "argo submit -n data --from workflowtemplate/breweries -p run-date=" in notes
    assert "argo watch" in notes and "kubectl logs" in notes
    assert "s3a://breweries-gold/breweries_by_type_location/" in notes


def _dicts(node):
    """Every mapping in a parsed manifest, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _dicts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _dicts(item)


def _env_vars(manifests: list[Manifest]):
    for manifest in manifests:
        for mapping in _dicts(manifest):
            if isinstance(mapping.get("env"), list):
                yield from mapping["env"]
        if manifest["kind"] in ("WorkflowTemplate", "CronWorkflow"):
            for app in spark_applications(manifest).values():
                yield from _env_vars([app])


def _template_refs(node):
    return [m["templateRef"] for m in _dicts(node) if isinstance(m.get("templateRef"), dict)]


def test_argo_workflows_call_only_templates_the_workflow_template_has(default_manifests) -> None:
    names = set(templates_by_name(one(default_manifests, "WorkflowTemplate")))
    files = sorted((REPO / "argo").glob("*.yaml"))
    assert [f.name for f in files] == ["backfill.yaml", "run-once.yaml"]
    for path in files:
        workflow = yaml.safe_load(path.read_text())
        if "workflowTemplateRef" in workflow["spec"]:
            assert workflow["spec"]["workflowTemplateRef"] == {"name": "breweries"}
        for ref in _template_refs(workflow):
            assert ref["name"] == "breweries", path.name
            assert ref["template"] in names, f"{path.name} calls {ref['template']}, which the template lacks"
    backfill = yaml.safe_load((REPO / "argo" / "backfill.yaml").read_text())
    assert {r["template"] for r in _template_refs(backfill)} == {
        "dates-between",
        "pipeline",
        "notify-failure",
    }


def test_a_backfills_exit_handler_passes_the_range_the_notifier_reads_as_its_dates() -> None:
    # The notifier finds each failed date's quality report from it: `start..end` must be a range it
    # reads, not a string that is no date.
    from breweries.notify import run_dates

    backfill = yaml.safe_load((REPO / "argo" / "backfill.yaml").read_text())["spec"]
    parameters = {p["name"]: p["value"] for p in backfill["arguments"]["parameters"]}
    [handler] = [t for t in backfill["templates"] if t["name"] == backfill["onExit"]]
    [[notify]] = handler["steps"]
    assert notify["templateRef"]["template"] == "notify-failure"
    [passed] = [p["value"] for p in notify["arguments"]["parameters"] if p["name"] == "run-date"]
    run_date = re.sub(r"\{\{workflow\.parameters\.([\w-]+)\}\}", lambda m: parameters[m[1]], passed)
    start, end = date.fromisoformat(parameters["start-date"]), date.fromisoformat(parameters["end-date"])
    assert run_dates(run_date) == [start + timedelta(days=n) for n in range((end - start).days + 1)]
    assert len(run_dates(run_date)) == 7


def test_no_retry_is_cut_short_by_the_backoff_window(default_manifests) -> None:
    # Argo starts no retry once maxDuration has passed since the first attempt: it must cover every
    # attempt running to its deadline, and the waits between them.
    templates = templates_by_name(one(default_manifests, "WorkflowTemplate"))
    for stage in STAGE_ORDER:
        retry, deadline = templates[stage]["retryStrategy"], templates[stage]["activeDeadlineSeconds"]
        waits = sum(2 * 2**n for n in range(retry["limit"]))
        assert int(retry["backoff"]["maxDuration"].removesuffix("s")) >= retry["limit"] * deadline + waits
    explicit = render("--set", "workflow.retry.backoffMaxDuration=5h")
    assert (
        templates_by_name(one(explicit, "WorkflowTemplate"))["gold"]["retryStrategy"]["backoff"][
            "maxDuration"
        ]
        == "5h"
    )


def test_the_network_policy_selects_every_pod_the_pipeline_runs(all_on_manifests) -> None:
    policy = one(all_on_manifests, "NetworkPolicy")
    selector = policy["spec"]["podSelector"]["matchLabels"]
    template = one(all_on_manifests, "WorkflowTemplate")
    # Workflow step pods (the notifier, the resource steps) get their labels from podMetadata.
    assert selector.items() <= template["spec"]["podMetadata"]["labels"].items()
    for app in spark_applications(template).values():
        for role in ("driver", "executor"):
            assert selector.items() <= app["spec"][role]["labels"].items()
    for deployment in by_kind(all_on_manifests, "Deployment"):  # MinIO, the API replay
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_narrowing_the_api_server_cidr_leaves_the_object_store_and_the_api_reachable(
    all_on_manifests,
) -> None:
    egress = one(all_on_manifests, "NetworkPolicy")["spec"]["egress"]
    by_cidr = {
        rule["to"][0]["ipBlock"]["cidr"]: [p["port"] for p in rule["ports"]]
        for rule in egress
        if "to" in rule and "ipBlock" in rule["to"][0]
    }
    assert by_cidr == {"10.96.0.1/32": [443], "203.0.113.0/24": [443]}  # ci/all-on-values.yaml's
    defaults = render(
        "--set", "networkPolicy.enabled=true", "--set", "networkPolicy.apiServer.cidr=10.0.0.1/32"
    )
    rules = one(defaults, "NetworkPolicy")["spec"]["egress"]
    endpoints = [r for r in rules if "to" in r and r["to"][0].get("ipBlock", {}).get("cidr") == "0.0.0.0/0"]
    assert [[p["port"] for p in r["ports"]] for r in endpoints] == [[443, 9000]]


def test_spark_pods_run_on_a_read_only_root_with_exactly_the_folders_spark_writes_to(
    default_manifests,
) -> None:
    # What tests/images found writable-needed: /tmp (with exec, for snappy's native library) and the
    # work dir; Spark mounts its own local dirs and configuration.
    for name, app in spark_applications(one(default_manifests, "WorkflowTemplate")).items():
        for role in ("driver", "executor"):
            pod, main = pod_template(app, role)["spec"], container(app, role)
            assert main["securityContext"]["readOnlyRootFilesystem"] is True, (name, role)
            mounts = {m["name"]: m["mountPath"] for m in main["volumeMounts"]}
            assert mounts == {"tmp": "/tmp", "work-dir": "/opt/spark/work-dir"}, (name, role)
            assert {v["name"]: v for v in pod["volumes"]} == {
                "tmp": {"name": "tmp", "emptyDir": {}},
                "work-dir": {"name": "work-dir", "emptyDir": {}},
            }


def test_secrets_and_security_reach_spark_pods_without_the_operators_webhook(default_manifests) -> None:
    # The fields only the operator's mutating webhook applies are not used: everything a pod needs
    # is in its pod template, which spark-submit applies itself.
    webhook_only = {
        "env",
        "envFrom",
        "envSecretKeyRefs",
        "securityContext",
        "podSecurityContext",
        "volumeMounts",
    }
    for name, app in spark_applications(one(default_manifests, "WorkflowTemplate")).items():
        assert "volumes" not in app["spec"], name
        for role in ("driver", "executor"):
            assert webhook_only.isdisjoint(app["spec"][role]), (name, role)
        fields = {e["name"]: e.get("valueFrom", {}) for e in container(app, "driver")["env"]}
        assert fields["AWS_SECRET_ACCESS_KEY"] == {
            "secretKeyRef": {"name": f"breweries-s3-{name}", "key": "AWS_SECRET_ACCESS_KEY", "optional": True}
        }
        assert fields["BREWERIES_SPARK_APPLICATION"] == {
            "fieldRef": {"fieldPath": "metadata.labels['sparkoperator.k8s.io/app-name']"}
        }
    # So the chart does not ask for the webhook either.
    requires = yaml.safe_load((CHART / "Chart.yaml").read_text())["annotations"]["breweries/requires"]
    assert not re.search(r"webhook (enabled|on|required)", requires, re.IGNORECASE), requires


def test_a_stage_that_failed_for_good_is_not_retried_and_anything_else_is(default_manifests) -> None:
    from breweries.cluster import RETRYABLE_LABEL
    from breweries.errors import FAILURES

    templates = templates_by_name(one(default_manifests, "WorkflowTemplate"))
    for stage in STAGE_ORDER:
        retry, resource = templates[stage]["retryStrategy"], templates[stage]["resource"]
        assert retry["retryPolicy"] == "Always"
        # The failure condition names the label when the driver set it; the expression reads that.
        assert f"metadata.labels.{RETRYABLE_LABEL} == false" in resource["failureCondition"].split(",")
        assert retry["expression"] == f"!(lastRetry.message contains '{RETRYABLE_LABEL}')"
    # The quality gate's failure is one of those the taxonomy says a retry cannot fix.
    assert any(f.__name__ == "DataQualityError" and not f.retryable for f in FAILURES)


def test_the_exit_handler_always_deletes_the_workflows_running_spark_applications(default_manifests) -> None:
    templates = templates_by_name(one(default_manifests, "WorkflowTemplate"))
    [group] = templates["exit-handler"]["steps"]
    cleanup = next(step for step in group if step["template"] == "cleanup")
    assert "when" not in cleanup  # whatever the workflow's status
    container = templates["cleanup"]["container"]
    assert container["command"] == ["breweries", "cleanup"]
    assert container["args"] == ["--workflow={{workflow.name}}"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_api_replay_serves_the_bundled_snapshot_in_the_cluster_and_the_stages_crawl_it() -> None:
    manifests = render("--set", "apiReplay.enabled=true")
    [deployment] = by_kind(manifests, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    [main] = pod["containers"]
    assert main["image"] == "breweries-base:0.1.0"
    assert main["command"] == ["breweries", "api-replay", "--host", "0.0.0.0", "--port", "8080"]
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["automountServiceAccountToken"] is False
    service = next(
        s for s in by_kind(manifests, "Service") if s["metadata"]["name"] == "breweries-api-replay"
    )
    assert service["spec"]["ports"] == [{"name": "http", "port": 8080, "targetPort": "http"}]
    for app in spark_applications(one(manifests, "WorkflowTemplate")).values():
        assert env_values(app)["BREWERIES_API_URL"] == "http://breweries-api-replay:8080/v1"
    # Without it, the stages crawl the public API: the settings' default, which the chart leaves alone.
    default = spark_applications(one(render(), "WorkflowTemplate"))["bronze"]
    assert "BREWERIES_API_URL" not in env_values(default)
    env = driver_env(default)
    assert Settings.from_env(env).api_url == DEFAULT_API_URL == "https://api.openbrewerydb.org/v1"
    elsewhere = spark_applications(
        one(render("--set", "pipeline.apiUrl=https://api.example.com/v1"), "WorkflowTemplate")
    )["bronze"]
    assert env_values(elsewhere)["BREWERIES_API_URL"] == "https://api.example.com/v1"


def test_an_api_url_with_the_api_replay_on_is_refused_naming_both() -> None:
    # The replay would win without a word: a chart pointed at an API would crawl the snapshot.
    api = "https://api.example.com/v1"
    result = helm(
        "template", "x", str(CHART), "--set", "apiReplay.enabled=true", "--set", f"pipeline.apiUrl={api}"
    )
    assert result.returncode != 0
    assert f"pipeline.apiUrl is {api} while apiReplay.enabled is true" in result.stderr
    assert "set apiReplay.enabled=false" in result.stderr and "leave pipeline.apiUrl empty" in result.stderr


def test_a_lineage_url_reaches_every_stage_driver_with_the_workflows_uid_as_parent() -> None:
    url = "http://marquez.lineage:5000"
    for stage, app in spark_applications(
        one(render("--set", f"pipeline.lineageUrl={url}"), "WorkflowTemplate")
    ).items():
        env = env_values(app)
        assert env["BREWERIES_LINEAGE_URL"] == url, stage
        assert env["BREWERIES_LINEAGE_PARENT_RUN_ID"] == "{{workflow.uid}}", stage
        # As the driver reads it once Argo has put the workflow's uid in.
        uid = "6f1c2a4e-8b3d-4e7f-a9c0-1d2e3f4a5b6c"
        settings = Settings.from_env({**driver_env(app), "BREWERIES_LINEAGE_PARENT_RUN_ID": uid})
        assert (settings.lineage_url, settings.lineage_parent_run_id) == (url, uid)
    # Without one, no stage sends lineage: the settings' default, which the chart leaves alone.
    for app in spark_applications(one(render(), "WorkflowTemplate")).values():
        assert not {"BREWERIES_LINEAGE_URL", "BREWERIES_LINEAGE_PARENT_RUN_ID"} & set(env_values(app))
    refused = helm("template", "x", str(CHART), "--set", "pipeline.lineageUrl=marquez:5000")
    assert refused.returncode != 0 and "lineageUrl" in refused.stderr
