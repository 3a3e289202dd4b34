// @slack/socket-mode's client as its README writes it, pointed at confab
// by SLACK_API_URL (its Web API, e.g. http://127.0.0.1:8080/api/): the
// client asks apps.connections.open there for the WebSocket's URL.
// Acknowledges every envelope, then prints
// "EVENT {"type":…,"retry_num":…,"retry_reason":…,"body":…}", and prints
// "READY" once connected.
//
// env: SLACK_APP_TOKEN, SLACK_API_URL.
const { SocketModeClient } = require('@slack/socket-mode');

const appToken = process.env.SLACK_APP_TOKEN;
const socketModeClient = new SocketModeClient({
  appToken,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
});

socketModeClient.on('slack_event', async ({ ack, type, body, retry_num, retry_reason }) => {
  await ack();
  console.log(`EVENT ${JSON.stringify({ type, retry_num, retry_reason, body })}`);
});

(async () => {
  // Connect to Slack
  await socketModeClient.start();
  console.log('READY');
})();
