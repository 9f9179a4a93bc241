import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer, Socket } from "node:net";
import { expect, hydrated, logIn, test } from "./fixtures";

/** A plain SMTP server on 127.0.0.1 that accepts every email and keeps its text. */
async function startSmtp(): Promise<{ port: number; mails: string[]; close: () => void }> {
  const mails: string[] = [];
  const server = createTcpServer((socket: Socket) => {
    let buffer = "";
    let data: string[] | null = null;
    const say = (line: string) => socket.write(`${line}\r\n`);
    say("220 mail.test ESMTP");
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      let end: number;
      while ((end = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (data !== null) {
          if (line === ".") {
            mails.push(data.join("\n"));
            data = null;
            say(`250 2.0.0 Ok: queued as E2E${mails.length}`);
          } else {
            data.push(line.startsWith(".") ? line.slice(1) : line);
          }
          continue;
        }
        const command = line.toUpperCase();
        if (command.startsWith("EHLO")) say("250-mail.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME");
        else if (command.startsWith("AUTH")) say("235 2.7.0 authenticated");
        else if (command === "DATA") {
          data = [];
          say("354 end with .");
        } else if (command.startsWith("QUIT")) {
          say("221 bye");
          socket.end();
        } else say("250 ok");
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return { port, mails, close: () => server.close() };
}

test("the Alerts page saves both channels and sends a test alert by each", async ({ page }) => {
  const bodies: { event?: string; text?: string }[] = [];
  const hook = createHttpServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      bodies.push(JSON.parse(body));
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    });
  });
  await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
  const hookPort = (hook.address() as { port: number }).port;
  const smtp = await startSmtp();
  try {
    await page.goto("/settings/alerts");
    await logIn(page);
    await expect(page).toHaveURL(/\/settings\/alerts$/);
    await hydrated(page);
    await expect(page.getByTestId("open-incidents")).toHaveText("No link is failing now.");
    await expect(page.getByTestId("test-email")).toBeDisabled();

    await page.getByLabel("Send alerts by email").check();
    await page.getByLabel("Mail server (SMTP)").fill("127.0.0.1");
    await page.getByLabel("TLS").selectOption("none");
    await page.getByLabel("Port").fill(String(smtp.port));
    await page.getByLabel("Username").fill("alerts");
    await page.locator("#smtp_password").fill("smtp-password-1");
    // The shared rules answer as the admin types, before anything is sent.
    await page.getByLabel("From").fill("affdesk");
    await expect(page.locator("#sender-error")).toContainText("name@example.com");
    await page.getByLabel("From").fill("affdesk@example.com");
    await expect(page.locator("#sender-error")).toBeEmpty();
    await page.getByLabel("To (one address per line)").fill("ops@example.com");
    await page.getByLabel("Send alerts to a webhook").check();
    await page.getByLabel("Webhook URL").fill(`http://127.0.0.1:${hookPort}/hook`);
    await page.getByRole("button", { name: "Save alert settings" }).click();
    await expect(page.getByTestId("alerts-saved")).toHaveText("Alert settings saved.");
    await expect(page.getByTestId("password-hint")).toContainText("A password is stored");
    await expect(page.locator("#smtp_password")).toHaveValue("");

    await page.getByTestId("test-webhook").click();
    await expect(page.getByTestId("test-result")).toContainText("Test alert by webhook sent");
    await expect(page.getByTestId("test-result")).toContainText("HTTP 200");
    expect(bodies.map((b) => b.event)).toEqual(["test"]);

    await page.getByTestId("test-email").click();
    await expect(page.getByTestId("test-result")).toContainText("Test alert by email sent");
    await expect(page.getByTestId("test-result")).toContainText("250 2.0.0 Ok: queued as E2E1");
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]).toContain("Subject: [affdesk] Test alert");

    const history = page.getByTestId("alert-history");
    await expect(history.getByRole("row")).toHaveCount(3);
    await expect(history).toContainText("webhook");
    await expect(history).toContainText("email");
  } finally {
    hook.close();
    smtp.close();
  }
});
