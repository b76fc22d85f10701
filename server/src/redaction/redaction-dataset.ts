/** One labelled text: what must be found, as character spans `[start, end)`. */
export interface LabelledText {
  text: string;
  spans: LabelledSpan[];
}

export interface LabelledSpan {
  type: string;
  start: number;
  end: number;
}

/** Presidio's entity names (presidio-research's synthetic data and Presidio's recognizers) to Axon's. */
export const PRESIDIO_TYPES: Record<string, string> = {
  PERSON: 'NAME',
  PER: 'NAME',
  PHONE_NUMBER: 'PHONE',
  CREDIT_CARD: 'CARD',
  EMAIL_ADDRESS: 'EMAIL',
  EMAIL: 'EMAIL',
  IBAN_CODE: 'IBAN',
  US_SSN: 'SSN',
  IP_ADDRESS: 'IP',
  STREET_ADDRESS: 'ADDRESS',
  ADDRESS: 'ADDRESS',
  US_PASSPORT: 'PASSPORT',
  US_DRIVER_LICENSE: 'DRIVER_LICENSE',
  ABA_ROUTING_NUMBER: 'ROUTING_NUMBER',
  US_BANK_NUMBER: 'BANK_ACCOUNT',
};

interface PresidioSpan {
  entity_type: string;
  entity_value?: string;
  start_position: number;
  end_position: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A labelled set from its JSON: a list of Presidio records (`{ full_text, spans: [{ entity_type,
 * entity_value, start_position, end_position }] }`, types mapped by {@link PRESIDIO_TYPES}, others
 * kept as named), of Axon's marked texts (`"Call [[PHONE:+1 415 555 0134]]"`), or of
 * `{ text, spans: [{ type, start, end }] }`. Throws with the record's index when one is malformed.
 */
export function parseRedactionDataset(json: unknown): LabelledText[] {
  const list = isRecord(json) && Array.isArray(json.examples) ? json.examples : json;
  if (!Array.isArray(list)) throw new Error('a labelled set is a JSON list of records');
  return list.map((record, index): LabelledText => {
    if (typeof record === 'string') return markedToSpans(record);
    if (isRecord(record) && typeof record.full_text === 'string') {
      const text = record.full_text;
      const spans = (Array.isArray(record.spans) ? record.spans : []).map((s, j) => {
        const span = s as PresidioSpan;
        if (
          !isRecord(s) ||
          typeof span.entity_type !== 'string' ||
          typeof span.start_position !== 'number' ||
          typeof span.end_position !== 'number'
        )
          throw new Error(`record ${index}, span ${j}: needs entity_type, start_position and end_position`);
        return { type: PRESIDIO_TYPES[span.entity_type] ?? span.entity_type, start: span.start_position, end: span.end_position };
      });
      return { text, spans };
    }
    if (isRecord(record) && typeof record.text === 'string' && Array.isArray(record.spans)) {
      return {
        text: record.text,
        spans: record.spans.map((s, j) => {
          if (!isRecord(s) || typeof s.type !== 'string' || typeof s.start !== 'number' || typeof s.end !== 'number')
            throw new Error(`record ${index}, span ${j}: needs type, start and end`);
          return { type: s.type, start: s.start, end: s.end };
        }),
      };
    }
    throw new Error(`record ${index}: expected a marked string, { full_text, spans } or { text, spans }`);
  });
}

/** A marked text (`[[TYPE:value]]`) as plain text with spans. */
export function markedToSpans(marked: string): LabelledText {
  const spans: LabelledSpan[] = [];
  let text = '';
  let at = 0;
  for (const m of marked.matchAll(/\[\[([A-Z_]+):(.+?)\]\]/g)) {
    text += marked.slice(at, m.index);
    const value = m[2] as string;
    spans.push({ type: m[1] as string, start: text.length, end: text.length + value.length });
    text += value;
    at = (m.index ?? 0) + m[0].length;
  }
  return { text: text + marked.slice(at), spans };
}

/** Labelled texts in Presidio's JSON format (as presidio-research writes them). */
export function toPresidioRecords(examples: LabelledText[], toPresidio: Record<string, string> = AXON_TO_PRESIDIO) {
  return examples.map((e) => ({
    full_text: e.text,
    spans: e.spans.map((s) => ({
      entity_type: toPresidio[s.type] ?? s.type,
      entity_value: e.text.slice(s.start, s.end),
      start_position: s.start,
      end_position: s.end,
    })),
  }));
}

/** Axon's types to Presidio's names, for writing sets others can read. */
export const AXON_TO_PRESIDIO: Record<string, string> = {
  NAME: 'PERSON',
  PHONE: 'PHONE_NUMBER',
  CARD: 'CREDIT_CARD',
  EMAIL: 'EMAIL_ADDRESS',
  IBAN: 'IBAN_CODE',
  SSN: 'US_SSN',
  IP: 'IP_ADDRESS',
  ADDRESS: 'STREET_ADDRESS',
  PASSPORT: 'US_PASSPORT',
  DRIVER_LICENSE: 'US_DRIVER_LICENSE',
  ROUTING_NUMBER: 'ABA_ROUTING_NUMBER',
  BANK_ACCOUNT: 'US_BANK_NUMBER',
};
