/*
 * The command helper (see HelperRunner): runs each command its parent sends with ExecFileRunner
 * and sends back what it resolved or rejected with. Argument: the commands' timeout in ms. It
 * loads nothing else, so that it stays small: that is what makes starting a process from it cheap.
 */
import { DataplaneError } from './errors.js';
import type { HelperReply, HelperRequest } from './command-helper.js';
import { ExecFileRunner } from './runner.js';

const runner = new ExecFileRunner({ timeoutMs: Number(process.argv[2]) || 15_000 });

function reply(message: HelperReply): void {
  // the parent is gone when this fails: 'disconnect' below ends this process
  process.send?.(message, (error: Error | null) => error ?? undefined);
}

process.on('message', (request: HelperRequest) => {
  runner.run(request.argv, request.options).then(
    (result) => reply({ id: request.id, result }),
    (error: unknown) =>
      reply({
        id: request.id,
        error:
          error instanceof DataplaneError
            ? { message: error.message, code: error.code, ...(error.output === undefined ? {} : { output: error.output }) }
            : { message: error instanceof Error ? error.message : String(error) },
      }),
  );
});
process.on('disconnect', () => process.exit(0));
