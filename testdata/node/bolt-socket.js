// Bolt's getting-started app in Socket Mode, as Slack's tutorial writes it,
// pointed at confab by SLACK_API_URL (its Web API, e.g.
// http://127.0.0.1:8080/api/): the app's WebClient and the Socket Mode
// client's apps.connections.open both go there.
// Prints "EVENT <json>" for each app_mention and "READY" once started.
//
// env: SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_API_URL.
const { App } = require('@slack/bolt');

const app = new App({
  token: process.env.SLACK_BOT_TOKEN,
  appToken: process.env.SLACK_APP_TOKEN,
  socketMode: true,
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
  await app.start();
  console.log('READY');
})();
