export { type CoalescableChunk, type CoalescingWriter, createCoalescingWriter } from './coalescing-writer';
export { type AnswerHeartbeats, createAnswerHeartbeats } from './heartbeats';
export { createMemoryStreamLog } from './memory-stream-log';
export { createRedisStreamLog, type RedisStreamLogOptions } from './redis-stream-log';
export { createStaleAnswerSweeper, type StaleAnswerSweeper, textOfStream } from './stale-answer-sweeper';
export {
  DEFAULT_STREAM_LOG_LIMITS,
  formatEventId,
  parseEventId,
  type StreamEntry,
  StreamGapError,
  type StreamInfo,
  type StreamLog,
  type StreamLogLimits,
  type StreamPosition,
} from './stream-log';
