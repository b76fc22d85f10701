import { createMemoryStreamLog } from './memory-stream-log';
import { describeStreamLogContract } from './stream-log-contract';

describeStreamLogContract('memory', async (limits) => {
  const log = createMemoryStreamLog(limits);
  return { log, peer: log };
});
