// An HTTP endpoint that judges each request it gets with Bolt's own
// signature check, verifySlackRequest, as an app built on Bolt would: it
// prints "VERIFY <json>" with the verdict ("ok" or Bolt's error) and the
// Slack headers it got, and answers 200 or 401 with the verdict.
// Prints "LISTENING <port>" once it listens on 127.0.0.1.
//
// env: SLACK_SIGNING_SECRET.
const http = require('node:http');
const { verifySlackRequest } = require('@slack/bolt');

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    let verdict = 'ok';
    try {
      // As Bolt's HTTPReceiver calls it: the raw body, the timestamp as a number.
      verifySlackRequest({
        signingSecret: process.env.SLACK_SIGNING_SECRET,
        body,
        headers: {
          'x-slack-signature': req.headers['x-slack-signature'],
          'x-slack-request-timestamp': Number(req.headers['x-slack-request-timestamp']),
        },
      });
    } catch (e) {
      verdict = e.message;
    }
    const headers = {};
    for (const name of ['content-type', 'user-agent', 'x-slack-retry-num', 'x-slack-retry-reason']) {
      headers[name] = req.headers[name];
    }
    console.log(`VERIFY ${JSON.stringify({ verdict, headers, body })}`);
    res.writeHead(verdict === 'ok' ? 200 : 401, { 'content-type': 'text/plain' });
    res.end(verdict);
  });
});

server.listen(0, '127.0.0.1', () => {
  console.log(`LISTENING ${server.address().port}`);
});
