// Bolt's getting-started app over HTTP (the Events API), as Slack's
// tutorial writes it, pointed at confab by SLACK_API_URL (its Web API, e.g.
// http://127.0.0.1:8080/api/). Bolt's receiver takes events at
// /slack/events and checks their signatures with SLACK_SIGNING_SECRET.
// Prints "EVENT <json>" for each app_mention and "READY <port>" once it
// listens (PORT=0 picks a free port).
//
// env: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL, PORT.
const { App } = require('@slack/bolt');

const app = new App({
  token: process.env.SLACK_BOT_TOKEN,
  signingSecret: process.env.SLACK_SIGNING_SECRET,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
});

// Listens to incoming messages that contain "hello"
app.message('hello', async ({ message, say }) => {
  // say() sends a message to the channel where the event was triggered
  await say({ text: `Hey there <@${message.user}>!`, thread_ts: message.ts });
});

app.event('app_mention', async ({ event }) => {
  console.log(`EVENT ${JSON.stringify(event)}`);
});

(async () => {
  // Start your app
  const server = await app.start(process.env.PORT || 3000);
  console.log(`READY ${server.address().port}`);
})();
