// Prints the versions of Slack's packages that require() finds, so a test
// can tell that the installed packages are the pinned ones.
const versions = {};
for (const name of ['@slack/bolt', '@slack/socket-mode', '@slack/web-api']) {
  versions[name] = require(`${name}/package.json`).version;
}
console.log(`VERSIONS ${JSON.stringify(versions)}`);
