// The API tests' use of the shared harness (tests/support/harness.mjs): one server per
// test file.
import { after, before } from "node:test";
import { client, startServer } from "../support/harness.mjs";

export {
  client,
  eventually,
  listenEvents,
  sleep,
  startReceiver,
  startServer,
  startSmtpReceiver,
} from "../support/harness.mjs";

// One server for a test file: started before its tests, stopped (and its exit checked)
// after them. Its fields are set once the server runs:
//   const t = serverForFile();  ...  await t.api("GET", "/healthz");  t.server.log();
export function serverForFile(options) {
  const t = { server: undefined, api: undefined };
  before(async () => {
    t.server = await startServer(options);
    t.api = client(t.server.base);
  });
  after(async () => t.server?.stop());
  return t;
}
