"""The console in a real browser: Debian's Chromium through chromedriver (selenium).

    python3 tests/console/browser.py --base http://127.0.0.1:8080 --bucket B --secret-id ID \
        --secret-key KEY --xss-key 'up/<img …>.png' --screenshots target/console-screenshots

The bucket holds what crates/api/tests/console.rs puts there: the XSS key, up/hls.png and
up/second.png carrying MPEG-TS after the picture (the last two moved to the backup folder by
AutoProcess), up/clean.png and other/clean.png clean. Prints "console: all steps
worked" at the end; fails on the first surprise.
"""
import argparse
import os

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

ap = argparse.ArgumentParser()
ap.add_argument("--base", required=True)
ap.add_argument("--bucket", required=True)
ap.add_argument("--secret-id", required=True)
ap.add_argument("--secret-key", required=True)
ap.add_argument("--xss-key", required=True)
ap.add_argument("--reader-id", required=True, help="a key that may read jobs and nothing else")
ap.add_argument("--reader-key", required=True)
ap.add_argument("--screenshots", required=True)
args = ap.parse_args()
os.makedirs(args.screenshots, exist_ok=True)

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage"):
    options.add_argument(flag)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_window_size(1280, 900)
driver.implicitly_wait(2)


def step(name):
    print(f"console: {name}", flush=True)


def shot(name):
    driver.save_screenshot(os.path.join(args.screenshots, f"{name}.png"))


def nothing_ran():
    assert driver.title != "pwned", "a script carried by an upload ran"
    try:
        driver.switch_to.alert
        raise AssertionError("an alert opened")
    except NoAlertPresentException:
        pass


def sign_in(secret_key, secret_id=None):
    driver.get(f"{args.base}/console/jobs")
    assert driver.current_url.endswith("/console/login"), driver.current_url
    driver.find_element(By.NAME, "secret_id").send_keys(secret_id or args.secret_id)
    driver.find_element(By.NAME, "secret_key").send_keys(secret_key)
    submit(driver.find_element(By.TAG_NAME, "button"))


def until(what, check):
    """Waits for `check()` to hold (a click that submits a form returns before the next page)."""
    WebDriverWait(driver, 10).until(lambda _: check(), message=what)


def submit(button):
    old = driver.find_element(By.TAG_NAME, "html")
    button.click()
    until("the next page", lambda: old.id != driver.find_element(By.TAG_NAME, "html").id)


def rows():
    return [r.find_element(By.TAG_NAME, "td").text for r in driver.find_elements(By.CSS_SELECTOR, "tbody tr")]


try:
    step("a wrong key is refused")
    sign_in("not-the-key")
    assert "Unknown SecretId or wrong SecretKey" in driver.page_source
    shot("login-refused")

    step("signed in: the overview of the last day")
    sign_in(args.secret_key)
    assert driver.current_url.endswith("/console/"), driver.current_url
    assert driver.find_element(By.ID, "rate").text == "3 suspicious of 5 (60.0 %)", driver.find_element(By.ID, "rate").text
    assert "Success 5" in driver.find_element(By.ID, "states").text, driver.find_element(By.ID, "states").text
    assert driver.find_element(By.ID, "types").text == "MPEG-TS 3", driver.find_element(By.ID, "types").text
    assert len(driver.find_elements(By.CSS_SELECTOR, "svg.chart rect")) >= 2
    shot("overview")

    step("the bucket's jobs, keys shown as text")
    submit(driver.find_element(By.LINK_TEXT, "All jobs"))
    assert sorted(rows()) == sorted([args.xss_key, "up/hls.png", "up/second.png", "up/clean.png", "other/clean.png"]), rows()
    nothing_ran()
    assert not driver.find_elements(By.CSS_SELECTOR, "main img"), "an upload's markup became an element"
    shot("jobs")

    step("filtered: suspicious, then a key prefix")
    Select(driver.find_element(By.NAME, "verdict")).select_by_value("suspicious")
    submit(driver.find_element(By.CSS_SELECTOR, "form.filters button"))
    assert sorted(rows()) == sorted([args.xss_key, "up/hls.png", "up/second.png"]), rows()
    Select(driver.find_element(By.NAME, "verdict")).select_by_value("")
    driver.find_element(By.NAME, "prefix").send_keys("other/")
    submit(driver.find_element(By.CSS_SELECTOR, "form.filters button"))
    assert rows() == ["other/clean.png"], rows()

    step("a suspicious job: the hidden range in hex")
    driver.get(f"{args.base}/console/jobs?bucket={args.bucket}&verdict=suspicious&prefix=up/hls")
    submit(driver.find_element(By.LINK_TEXT, "up/hls.png"))
    hexview = driver.find_element(By.CSS_SELECTOR, "pre.hex").text
    assert "the picture ends at byte" in hexview, hexview
    marked = [b.text for b in driver.find_elements(By.CSS_SELECTOR, "pre.hex b")]
    assert marked[0] == "47", marked[:8]  # an MPEG-TS packet's sync byte, where the picture ended
    assert "MPEG-TS" in driver.find_element(By.TAG_NAME, "dl").text
    findings = driver.find_element(By.XPATH, "//h2[text()='Findings']/following-sibling::table").text
    assert "MPEG-TS after image" in findings and "certain" in findings, findings
    assert "Read from abnormal_images_backup/up/hls.png" in driver.page_source, "AutoProcess moved it"
    loaded = driver.execute_script("const i = document.querySelector('img.preview'); return i.complete && i.naturalWidth")
    assert loaded and loaded > 0, f"the picture shows: {loaded}"
    shot("job")

    step("undo AutoProcess: the picture back at its key")
    submit(driver.find_element(By.XPATH, "//button[text()='Undo AutoProcess']"))
    undone = driver.find_element(By.ID, "undone").text
    assert undone.startswith("Restored") and args.secret_id in undone, undone
    assert "Read from up/hls.png" in driver.page_source
    assert not driver.find_elements(By.XPATH, "//button[text()='Undo AutoProcess']")
    shot("job-undone")

    step("the XSS key's own page runs nothing, nor does its UserData")
    driver.get(f"{args.base}/console/jobs?bucket={args.bucket}&prefix=up/%3Cimg")
    submit(driver.find_element(By.CSS_SELECTOR, "tbody a"))
    details = driver.find_element(By.TAG_NAME, "dl").text
    assert args.xss_key in details and "<script>document.title='pwned'</script>" in details, details
    nothing_ran()
    shot("job-xss")

    step("pause and resume the queue")
    driver.get(f"{args.base}/console/jobs?bucket={args.bucket}")
    submit(driver.find_element(By.XPATH, "//button[text()='Pause the queue']"))
    assert driver.find_element(By.ID, "queue-state").text == "Paused"
    submit(driver.find_element(By.XPATH, "//button[text()='Resume the queue']"))
    assert driver.find_element(By.ID, "queue-state").text == "Active"

    step("a phone's width: nothing wider than the screen")
    driver.set_window_size(375, 812)
    for page in (f"/console/jobs?bucket={args.bucket}", f"/console/jobs?bucket={args.bucket}&prefix=up/hls"):
        driver.get(args.base + page)
        width = driver.execute_script("return document.documentElement.scrollWidth")
        inner = driver.execute_script("return window.innerWidth")
        assert width <= inner, (page, width, inner)
    shot("jobs-phone")
    driver.set_window_size(1280, 900)

    step("another backed-up job offers the undo to this key")
    driver.get(f"{args.base}/console/jobs?bucket={args.bucket}&prefix=up/second")
    submit(driver.find_element(By.LINK_TEXT, "up/second.png"))
    assert driver.find_elements(By.XPATH, "//button[text()='Undo AutoProcess']")

    step("sign out")
    submit(driver.find_element(By.XPATH, "//button[text()='Sign out']"))
    assert driver.current_url.endswith("/console/login"), driver.current_url
    driver.get(f"{args.base}/console/jobs")
    assert driver.current_url.endswith("/console/login"), "signed out for good"

    step("a read-only key: the pages, no buttons")
    sign_in(args.reader_key, args.reader_id)
    driver.get(f"{args.base}/console/jobs?bucket={args.bucket}")
    assert len(rows()) == 5, rows()
    assert not driver.find_elements(By.XPATH, "//button[contains(text(), 'the queue')]")
    driver.get(f"{args.base}/console/jobs?bucket={args.bucket}&prefix=up/second")
    submit(driver.find_element(By.LINK_TEXT, "up/second.png"))
    assert "Success" in driver.find_element(By.TAG_NAME, "dl").text
    assert not driver.find_elements(By.XPATH, "//button[text()='Undo AutoProcess']")
    shot("job-read-only")
    print("console: all steps worked")
finally:
    driver.quit()
