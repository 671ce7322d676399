"""The Argo UI as a person uses it, in a real browser: Debian's chromium (make browser), headless,
driven through its chromedriver by Selenium. argo-server is reached as the README says
(`kubectl -n argo port-forward svc/argo-server 2746`), in its client auth mode, with a token of the
read-only ServiceAccount of k8s/argo-ui-viewer.yaml pasted on its login page.

It opens a run that succeeded and a run whose quality gate failed (its source served no brewery),
the latter through the link the failure notification carries, and checks what a person looks for
in the graph: the five stages, each below the one it follows, with their outcome, and the failed
gate drawn in the failure colour. Screenshots are kept in build/e2e/argo-ui (BREWERIES_E2E_ARTIFACTS
elsewhere); BREWERIES_E2E_UPDATE_DOCS=1 copies them over docs/argo-ui-*.png.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from tests.e2e.cluster import (
    EMPTY_API,
    REPO,
    Workflow,
    apply_fixtures,
    kubectl,
    point_the_chart_at,
    port_forward,
    release_values,
    submit,
    unavailable,
    webhook_messages,
)

from breweries.pipeline import STAGES

CHROMIUM = os.environ.get("BREWERIES_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("BREWERIES_E2E_CHROMEDRIVER", "/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("BREWERIES_E2E_ARTIFACTS", REPO / "build" / "e2e" / "argo-ui"))
VIEWER = REPO / "k8s" / "argo-ui-viewer.yaml"
SUCCEEDED_DATE, FAILED_DATE = "2026-07-01", "2026-07-02"
# The base the notification's link starts with, as a user who port-forwards argo-server to its own
# port 2746 would set it (README); the test's forward uses a free port instead.
ARGO_UI_URL = "https://localhost:2746"
# The graph's nodes are the DAG's tasks, named after the stages' components, in pipeline order.
STAGE_NODES = [stage.component for stage in STAGES]


def browser_missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"no {path}: make browser installs Debian's chromium and chromium-driver"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: make setup installs the test extras"
    return None


pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(bool(unavailable()), reason=unavailable() or ""),
    pytest.mark.skipif(bool(browser_missing()), reason=browser_missing() or ""),
]


@pytest.fixture(scope="module")
def viewer_token() -> str:
    """A short-lived token of the read-only ServiceAccount, as the README has a user get one."""
    kubectl("apply", "-f", str(VIEWER))
    return kubectl("create", "token", "argo-ui-viewer", "--duration", "1h").stdout.strip()


@pytest.fixture(scope="module")
def argo_ui() -> Iterator[str]:
    """argo-server's base URL through `kubectl port-forward` (HTTPS, its own self-signed certificate)."""
    with port_forward("svc/argo-server", 2746, namespace="argo") as port:
        yield f"https://localhost:{port}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # runs as root here
        "--disable-dev-shm-usage",
        "--window-size=1400,1450",  # the whole graph of a run, for the screenshots
        # argo-server's certificate is self-signed; the port-forward is this machine's own.
        "--ignore-certificate-errors",
    ):
        options.add_argument(argument)
    # A driver given by path: Selenium Manager, which downloads drivers, never runs.
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def logged_in(browser, argo_ui, viewer_token) -> Any:
    """The browser after the login page's client-authentication box took `Bearer <token>`."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    browser.get(f"{argo_ui}/login")
    box = WebDriverWait(browser, 60).until(expected_conditions.presence_of_element_located((By.ID, "token")))
    box.send_keys(f"Bearer {viewer_token}")
    # The Login button of the client-authentication column: the one after the token box.
    box.find_element(By.XPATH, "following::a[contains(., 'Login')][1]").click()
    WebDriverWait(browser, 30).until(lambda b: b.get_cookie("authorization") is not None)
    return browser


@pytest.fixture(scope="module")
def succeeded_run() -> Workflow:
    workflow = submit("--from", "workflowtemplate/breweries", "-p", f"run-date={SUCCEEDED_DATE}")
    assert workflow.wait()["status"]["phase"] == "Succeeded", workflow.get()["status"].get("message")
    return workflow


@pytest.fixture(scope="module")
def failed_run() -> Iterator[tuple[Workflow, dict[str, Any]]]:
    """A run of a source that serves no brewery: its quality gate fails. Yields the workflow and the
    notification its exit handler posted, with the chart's argoUiUrl set as the README says."""
    apply_fixtures()
    before = release_values()["workflow"]["argoUiUrl"]
    sent_before = len(webhook_messages())
    point_the_chart_at(EMPTY_API, "--set", f"workflow.argoUiUrl={ARGO_UI_URL}")
    try:
        workflow = submit("--from", "workflowtemplate/breweries", "-p", f"run-date={FAILED_DATE}")
        assert workflow.wait()["status"]["phase"] == "Failed"
    finally:
        point_the_chart_at(None, "--set", f"workflow.argoUiUrl={before}")
    [message] = [m for m in webhook_messages()[sent_before:] if m["workflow"] == workflow.name]
    yield workflow, message


def graph_nodes(browser, wanted: list[str], timeout: float = 90) -> dict[str, dict[str, Any]]:
    """The graph's nodes, by label, once every WANTED label is drawn and the layout holds still: each
    with its phase (the node's class), the centre of its circle on the page and its fill colour."""
    deadline = time.monotonic() + timeout
    previous: dict[str, dict[str, Any]] = {}
    while True:
        # Each node is a <g> holding <title>ID (LABEL)</title> and <g class="node PHASE">; the
        # label drawn under it wraps long names, the title never does.
        drawn = browser.execute_script(
            """
            return Array.from(document.querySelectorAll('.graph svg g > title')).map(title => {
              const node = title.parentElement.querySelector('g.node');
              if (!node) return null;
              const box = node.getBoundingClientRect();
              const bg = node.querySelector('.bg');
              return {title: title.textContent, classes: node.getAttribute('class'),
                      x: box.x + box.width / 2, y: box.y + box.height / 2,
                      fill: bg ? getComputedStyle(bg).fill : null};
            }).filter(n => n);
            """
        )
        nodes = {}
        for node in drawn:
            match = re.fullmatch(r"\S+ \((.*)\)", node["title"].strip())
            if match:
                phases = [c for c in node["classes"].split() if c not in ("node", "selected")]
                nodes[match.group(1)] = {**node, "phase": phases[0] if phases else ""}
        if all(label in nodes for label in wanted) and nodes == previous:
            return nodes
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the graph drew {sorted(nodes)} within {timeout:.0f} s, not all of {wanted}"
            )
        previous = nodes
        time.sleep(1)


def rgb(colour: str) -> tuple[int, ...]:
    return tuple(int(c) for c in re.findall(r"\d+", colour)[:3])


def assert_in_pipeline_order(nodes: dict[str, dict[str, Any]]) -> None:
    """Each stage is drawn after the one it follows, along the graph's direction (down by default)."""
    first, last = nodes[STAGE_NODES[0]], nodes[STAGE_NODES[-1]]
    axis = "y" if abs(last["y"] - first["y"]) >= abs(last["x"] - first["x"]) else "x"
    positions = [nodes[label][axis] for label in STAGE_NODES]
    assert positions == sorted(positions) and len(set(positions)) == len(positions), (
        f"stages along {axis}: {dict(zip(STAGE_NODES, positions, strict=True))}"
    )


def screenshot(browser, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    browser.save_screenshot(str(path))
    return path


def open_workflow(browser, url: str, workflow: Workflow) -> None:
    browser.get(url)
    assert f"/workflows/breweries/{workflow.name}" in browser.current_url, browser.current_url


def test_a_succeeded_run_shows_its_five_stages_in_order_all_succeeded(
    logged_in, argo_ui, succeeded_run
) -> None:
    open_workflow(logged_in, f"{argo_ui}/workflows/breweries/{succeeded_run.name}", succeeded_run)
    nodes = graph_nodes(logged_in, STAGE_NODES)
    screenshot(logged_in, "argo-ui-succeeded")
    assert {label: nodes[label]["phase"] for label in STAGE_NODES} == dict.fromkeys(STAGE_NODES, "Succeeded")
    assert_in_pipeline_order(nodes)
    red, green, blue = rgb(nodes["gold"]["fill"])
    assert green > red and green > blue, nodes["gold"]["fill"]  # drawn in the success colour


def test_the_failure_notifications_link_opens_the_failed_run_with_quality_as_the_failed_node(
    logged_in, argo_ui, failed_run
) -> None:
    workflow, message = failed_run
    # The link names the workflow's page under the configured base; opened through this forward.
    assert message["link"] == f"{ARGO_UI_URL}/workflows/breweries/{workflow.name}"
    open_workflow(logged_in, message["link"].replace(ARGO_UI_URL, argo_ui), workflow)
    nodes = graph_nodes(logged_in, STAGE_NODES)
    screenshot(logged_in, "argo-ui-failed")
    phases = {label: nodes[label]["phase"] for label in STAGE_NODES}
    # The stages after the gate never ran: Argo draws them as omitted.
    assert phases == {
        "bronze": "Succeeded",
        "silver": "Succeeded",
        "quality": "Failed",
        "silver-anonymized": "Omitted",
        "gold": "Omitted",
    }
    assert_in_pipeline_order(nodes)
    # quality is the one stage drawn in the failure colour: red, where the stages before it are green.
    failed = [label for label in STAGE_NODES if rgb(nodes[label]["fill"]) == rgb(nodes["quality"]["fill"])]
    assert failed == ["quality"]
    red, green, blue = rgb(nodes["quality"]["fill"])
    assert red > green and red > blue, nodes["quality"]["fill"]
    red, green, blue = rgb(nodes["bronze"]["fill"])
    assert green > red and green > blue, nodes["bronze"]["fill"]


# argo-server's certificate is self-signed: urllib3 warns of every request that does not check it.
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_the_ui_needs_a_token_and_the_viewers_may_read_but_not_change_runs(
    browser, argo_ui, viewer_token, succeeded_run
) -> None:
    # A browser without the login cookie is sent to the login page.
    browser.delete_all_cookies()
    browser.get(f"{argo_ui}/workflows/breweries/{succeeded_run.name}")
    deadline = time.monotonic() + 30
    while "/login" not in browser.current_url:
        assert time.monotonic() < deadline, f"not sent to the login page: {browser.current_url}"
        time.sleep(0.5)
    # The API behind the UI, with the viewer's token: it reads the run, and may not delete it.
    api = f"{argo_ui}/api/v1/workflows/breweries/{succeeded_run.name}"
    bearer = {"Authorization": f"Bearer {viewer_token}"}
    session = requests.Session()
    session.trust_env = False
    session.verify = False  # argo-server's self-signed certificate, through this machine's forward
    assert session.get(api, timeout=30).status_code == 401
    assert session.get(api, headers=bearer, timeout=30).json()["metadata"]["name"] == succeeded_run.name
    assert session.delete(api, headers=bearer, timeout=30).status_code == 403
    submit_api = f"{argo_ui}/api/v1/workflows/breweries/submit"
    template = {"resourceKind": "WorkflowTemplate", "resourceName": "breweries"}
    assert session.post(submit_api, json=template, headers=bearer, timeout=30).status_code == 403
    assert succeeded_run.phase == "Succeeded"  # still there


@pytest.fixture(scope="module", autouse=True)
def _copy_for_docs() -> Iterator[None]:
    """With BREWERIES_E2E_UPDATE_DOCS=1, the screenshots replace docs/argo-ui-*.png."""
    yield
    if os.environ.get("BREWERIES_E2E_UPDATE_DOCS") == "1":
        for name in ("argo-ui-succeeded", "argo-ui-failed"):
            if (ARTIFACTS / f"{name}.png").exists():
                shutil.copyfile(ARTIFACTS / f"{name}.png", REPO / "docs" / f"{name}.png")
