import { DMTF_SCHEMAS, ROOT } from './resources.js';

/**
 * Every schema namespace the service's resources name in `@odata.type`, with the version it serves. The test
 * that crawls the service checks each served type against this list, so a new resource cannot forget it.
 */
export const SERVED_SCHEMAS: ReadonlyArray<{ schema: string; version?: string }> = [
  { schema: 'ServiceRoot', version: 'v1_15_0' },
  { schema: 'ChassisCollection' },
  { schema: 'Chassis', version: 'v1_21_0' },
  { schema: 'Power', version: 'v1_7_1' },
  { schema: 'EnvironmentMetrics', version: 'v1_3_2' },
  { schema: 'SensorCollection' },
  { schema: 'Sensor', version: 'v1_7_0' },
  { schema: 'SessionService', version: 'v1_1_9' },
  { schema: 'SessionCollection' },
  { schema: 'Session', version: 'v1_7_0' },
  { schema: 'Message', version: 'v1_1_2' },
];

/**
 * `/redfish/v1/$metadata`: the OData CSDL document DMTF requires of every service (DSP0266 "Service metadata"):
 * one `edmx:Reference` per schema file the resources use, and the `Service` entity container that extends
 * `ServiceRoot`. Clients such as the DMTF Redfish Service Validator start here.
 */
export function metadataXml(): string {
  const refs = SERVED_SCHEMAS.map(({ schema, version }) => {
    const includes = [`    <edmx:Include Namespace="${schema}"/>`];
    if (version !== undefined) includes.push(`    <edmx:Include Namespace="${schema}.${version}"/>`);
    return `  <edmx:Reference Uri="${DMTF_SCHEMAS}/${schema}_v1.xml">\n${includes.join('\n')}\n  </edmx:Reference>`;
  });
  const rootVersion = SERVED_SCHEMAS[0]?.version ?? 'v1_15_0';
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">',
    `  <edmx:Reference Uri="${DMTF_SCHEMAS}/RedfishExtensions_v1.xml">`,
    '    <edmx:Include Namespace="RedfishExtensions.v1_0_0" Alias="Redfish"/>',
    '  </edmx:Reference>',
    `  <edmx:Reference Uri="${DMTF_SCHEMAS}/Resource_v1.xml">`,
    '    <edmx:Include Namespace="Resource"/>',
    '    <edmx:Include Namespace="Resource.v1_0_0"/>',
    '  </edmx:Reference>',
    ...refs,
    '  <edmx:DataServices>',
    '    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="Service">',
    `      <EntityContainer Name="Service" Extends="ServiceRoot.${rootVersion}.ServiceContainer"/>`,
    '    </Schema>',
    '  </edmx:DataServices>',
    '</edmx:Edmx>',
    '',
  ].join('\n');
}

/** `/redfish/v1/odata`: the OData service document, listing the service root's top-level resources. */
export function odataServiceDocument(): Record<string, unknown> {
  return {
    '@odata.context': `${ROOT}/$metadata`,
    value: [
      { name: 'Service', kind: 'Singleton', url: `${ROOT}/` },
      { name: 'Chassis', kind: 'Singleton', url: `${ROOT}/Chassis` },
      { name: 'SessionService', kind: 'Singleton', url: `${ROOT}/SessionService` },
      { name: 'Sessions', kind: 'Singleton', url: `${ROOT}/SessionService/Sessions` },
    ],
  };
}
