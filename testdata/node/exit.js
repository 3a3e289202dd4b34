// Prints a line and exits with the status given in EXIT_STATUS: a test of
// nodetest's handling of a script that ends early.
console.log('BEFORE');
console.error('exit.js: leaving on purpose');
process.exit(Number(process.env.EXIT_STATUS || 0));
