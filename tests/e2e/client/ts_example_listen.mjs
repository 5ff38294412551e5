// Preloaded (node --import) into an example server of the TypeScript SDK for
// ts_examples_test.cpp: the examples listen on a fixed port (3000, or $PORT / $MCP_PORT); this
// makes every numeric listen() take a free loopback port instead, so that tests never clash
// with each other or with anything else on the machine, and prints the port it got as
// "ts-example listening on port N" on stdout once it listens.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    args[0] = 0;
    if (typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
    this.once('listening', () => {
      process.stdout.write(`ts-example listening on port ${this.address().port}\n`);
    });
  }
  return listen.apply(this, args);
};
