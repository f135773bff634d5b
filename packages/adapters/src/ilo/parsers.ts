import { devicePath } from '../internal/http.js';
import { arrayOf, at, prop, str, PayloadProblem, requireNumber } from '../internal/http-shape.js';

/**
 * The chassis of `/rest/v1/Chassis`, as paths on the configured iLO. iLO 4 answers with HAL-style
 * `links.Member[].href`. iLO 5 and later dropped the pre-Redfish API: they redirect every `/rest/v1/<x>` to
 * `/redfish/v1/<x>/` (HTTP 308) and serve a Redfish collection there, `Members[].@odata.id`. An absolute link keeps
 * only its path, so the credentials never follow a link to another host.
 */
export function parseIloChassisHrefs(body: unknown): string[] {
  const legacy = at(body, 'links', 'Member');
  const members = Array.isArray(legacy) ? legacy : prop(body, 'Members');
  if (!Array.isArray(members)) {
    throw new PayloadProblem('/rest/v1/Chassis: links.Member is not an array, nor is Members (the Redfish collection of iLO 5 and later)');
  }
  const key = Array.isArray(legacy) ? 'href' : '@odata.id';
  return arrayOf(members)
    .map((m) => {
      const href = str(prop(m, key));
      return href === undefined ? undefined : devicePath(href);
    })
    .filter((h): h is string => h !== undefined);
}

/**
 * The message id of an iLO error answer, if any: iLO 4's `Messages[0].MessageID`, else the Redfish
 * `error.@Message.ExtendedInfo[0].MessageId` that iLO 5 and later send alone.
 */
export function iloMessageId(body: unknown): string | undefined {
  const info = at(body, 'error', '@Message.ExtendedInfo', 0);
  return str(at(body, 'Messages', 0, 'MessageID')) ?? str(prop(info, 'MessageId')) ?? str(prop(info, 'MessageID'));
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
