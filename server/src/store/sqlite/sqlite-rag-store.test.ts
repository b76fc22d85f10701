import { openSqliteRagUnderTest } from '../../testing/rag-store-harness';
import { describeRagStoreContract } from '../rag-store-contract';

describeRagStoreContract('sqlite (in-memory indexes)', () => openSqliteRagUnderTest());
describeRagStoreContract('sqlite (FTS5 and sqlite-vec)', () => openSqliteRagUnderTest({ memoryIndex: false }));
