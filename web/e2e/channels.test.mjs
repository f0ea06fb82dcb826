// The Channels page in a real browser: create a signed webhook, send it a test (received by
// a loopback receiver), edit it without retyping its secret, delete it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventually, startReceiver, startSmtpReceiver } from "../../tests/support/harness.mjs";
import { browserForFile, field, screenshot } from "./browser.mjs";

const t = browserForFile();

test("channels: create, test, edit keeping the secret, delete", async () => {
  const { page } = t;
  const receiver = await startReceiver({
    respond(req, res, record) {
      req.on("data", (c) => (record.body += c));
      req.on("end", () => {
        res.statusCode = record.path === "/down" ? 503 : 200;
        res.end("");
      });
    },
  });
  try {
    await page.goto(`${t.server.base}/admin/scheduler/`);
    await page.getByRole("link", { name: "Channels" }).click();
    await page.getByRole("heading", { name: "Channels", level: 1 }).waitFor();
    await page.getByText("No channels yet.").waitFor();
    // Made elsewhere (here: through the API), shown live; and gone again.
    const elsewhere = (
      await t.api("POST", "/api/scheduler/channels", {
        name: "made elsewhere",
        type: "webhook",
        url: receiver.url("/elsewhere"),
      })
    ).json.data;
    await page.getByTestId("channel-made elsewhere").waitFor();
    await t.api("DELETE", `/api/scheduler/channels/${elsewhere.id}`);
    await page.getByText("No channels yet.").waitFor();

    await page.getByRole("button", { name: "New channel" }).click();
    let dialog = page.getByRole("dialog");
    await field(dialog, "Name").fill("ops hook");
    await field(dialog, "URL").fill(receiver.url("/hook"));
    await field(dialog, "Headers").fill("X-Team: ops\nAuthorization: Bearer t0ken");
    await field(dialog, "Secret").fill("short");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.getByText("must be 16 to 1024 bytes").waitFor();
    await field(dialog, "Secret").fill("a-secret-of-enough-length");
    await dialog.getByRole("button", { name: "Save" }).click();
    await page.getByText("ops hook saved").first().waitFor();
    await dialog.waitFor({ state: "detached" });

    const card = page.getByTestId("channel-ops hook");
    await card.getByText("signed").waitFor();
    await card.getByText("Headers: X-Team, Authorization").waitFor();
    assert.ok(!(await page.content()).includes("t0ken"), "a header's value is never shown");

    await card.getByRole("button", { name: "Send test" }).click();
    await card.getByText(/Delivered: the receiver answered 200 in \d+ ms\./).waitFor();
    assert.equal(receiver.requests.length, 1);
    assert.match(receiver.requests[0].headers["x-cronkit-signature"], /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.equal(receiver.requests[0].headers.authorization, "Bearer t0ken");
    await screenshot(page, "channels");

    // Edit: a new URL (that answers 503), the secret and headers left as they are.
    await card.getByRole("button", { name: "Edit" }).click();
    dialog = page.getByRole("dialog");
    await dialog.getByText("Set. Leave empty to keep it.").waitFor();
    await field(dialog, "URL").fill(receiver.url("/down"));
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "detached" });
    await card.getByRole("button", { name: "Send test" }).click();
    await card.getByText("Not delivered: the receiver answered 503.").waitFor();
    // Both tests are listed, newest first, with how they went.
    const rows = page.getByTestId("deliveries").locator("tbody tr");
    await rows.nth(1).waitFor();
    assert.match(await rows.nth(0).textContent(), /ops hook\s*test\s*failed\s*the receiver answered 503/);
    assert.match(await rows.nth(1).textContent(), /ops hook\s*test\s*delivered\s*answered 200/);
    await eventually(() => receiver.requests.length === 2);
    assert.equal(receiver.requests[1].path, "/down");
    assert.match(receiver.requests[1].headers["x-cronkit-signature"], /^t=\d+,v1=/, "still signed");

    // A Slack channel: its URL shown without the credential.
    await page.getByRole("button", { name: "New channel" }).click();
    dialog = page.getByRole("dialog");
    await field(dialog, "Name").fill("alerts");
    await dialog.getByRole("combobox").click();
    await page.getByRole("option", { name: "Slack (incoming webhook)" }).click();
    await field(dialog, "URL").fill(receiver.url("/services/T1/B2/CREDENTIAL"));
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "detached" });
    const slack = page.getByTestId("channel-alerts");
    await slack.getByText(`http://127.0.0.1:${receiver.port}/\u2026`).waitFor();
    assert.ok(!(await page.content()).includes("CREDENTIAL"));

    // An email channel, through a real SMTP server.
    const smtp = await startSmtpReceiver();
    try {
      await page.getByRole("button", { name: "New channel" }).click();
      dialog = page.getByRole("dialog");
      await field(dialog, "Name").fill("mailbox");
      await dialog.getByRole("combobox").click();
      await page.getByRole("option", { name: "Email (SMTP)" }).click();
      await field(dialog, "URL").fill(smtp.url());
      await field(dialog, "From").fill("cronkit@example.com");
      await field(dialog, "To").fill("ops@example.com, dev@example.com");
      await dialog.getByRole("button", { name: "Save" }).click();
      await dialog.waitFor({ state: "detached" });
      const mailbox = page.getByTestId("channel-mailbox");
      await mailbox.getByText("From cronkit@example.com to ops@example.com, dev@example.com").waitFor();
      await mailbox.getByRole("button", { name: "Send test" }).click();
      await mailbox.getByText(/Delivered: the receiver answered 250 in \d+ ms\./).waitFor();
      await eventually(() => smtp.messages.length === 1);
      assert.deepEqual(smtp.messages[0].to, ["ops@example.com", "dev@example.com"]);
    } finally {
      smtp.close();
    }

    await card.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
    await card.waitFor({ state: "detached" });
    const left = (await t.api("GET", "/api/scheduler/channels")).json.data;
    assert.deepEqual(
      left.map((c) => c.name),
      ["alerts", "mailbox"],
    );
    assert.deepEqual(t.offsite, []);
  } finally {
    receiver.close();
  }
});
