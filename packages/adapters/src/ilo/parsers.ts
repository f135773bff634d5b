import { devicePath } from '../internal/http.js';
import { arrayOf, at, prop, str, PayloadProblem, requireNumber } from '../internal/http-shape.js';

/**
 * `links.Member[].href` of `/rest/v1/Chassis` (iLO 4 REST, HAL-style links), as paths on the configured iLO: an
 * absolute href keeps only its path, so the credentials never follow a link to another host.
 */
export function parseIloChassisHrefs(body: unknown): string[] {
  const members = at(body, 'links', 'Member');
  if (!Array.isArray(members)) throw new PayloadProblem('/rest/v1/Chassis: links.Member is not an array');
  return arrayOf(members)
    .map((m) => {
      const href = str(prop(m, 'href'));
      return href === undefined ? undefined : devicePath(href);
    })
    .filter((h): h is string => h !== undefined);
}

/** The first `Messages[].MessageID` of an iLO error answer, if any. */
export function iloMessageId(body: unknown): string | undefined {
  return str(at(body, 'Messages', 0, 'MessageID'));
}

/**
 * iLO 2.1 (ServiceVersion 0.9.5) answers `PowerMetrics/FastPowerMeter` with `PowerDetail[0].Average`; returns
 * undefined when there is no `PowerDetail` (iLO 2.4, which moved it).
 */
export function parseFastPowerMeter21(body: unknown): number | undefined {
  const detail = prop(body, 'PowerDetail');
  if (detail === undefined) return undefined;
  return requireNumber(at(detail, 0, 'Average'), 'PowerDetail[0].Average');
}

/** iLO 2.4 (ServiceVersion 1.0.0) `Power/FastPowerMeter`: the newest sample is the last `PowerDetail[]`. */
export function parseFastPowerMeter24(body: unknown): number {
  const detail = arrayOf(prop(body, 'PowerDetail'));
  if (detail.length === 0) throw new PayloadProblem('Power/FastPowerMeter: PowerDetail is absent or empty');
  return requireNumber(prop(detail[detail.length - 1], 'Average'), `PowerDetail[${detail.length - 1}].Average`);
}
