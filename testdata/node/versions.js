// Prints the versions of the pinned packages that require() finds (Slack's,
// and axe-core for the browser tests), so a test can tell that the
// installed packages are the pinned ones.
const versions = {};
for (const name of ['@slack/bolt', '@slack/socket-mode', '@slack/web-api', 'axe-core']) {
  versions[name] = require(`${name}/package.json`).version;
}
console.log(`VERSIONS ${JSON.stringify(versions)}`);
