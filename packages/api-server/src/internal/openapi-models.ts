// JSON Schemas of the original's flask-restx models, under the same names, for the OpenAPI document only: the
// handlers validate with zod so that errors keep the original's shape.

const str = (description: string, example?: string) => ({ type: 'string', description, ...(example === undefined ? {} : { example }) });

/** Shared schemas, registered with `addSchema` and referenced as `<name>#`. */
export const OPENAPI_MODELS = [
  {
    $id: 'topology',
    type: 'object',
    description: 'Equipment location; any other key is accepted and stored as a tag',
    properties: { dc: str('Data center', 'myDC'), room: str('Room', 'room#1'), row: str('Row', 'row#42'), rack: str('Rack', 'rack-B') },
    additionalProperties: { type: 'string' },
  },
  {
    $id: 'measurement',
    type: 'object',
    required: ['sensor', 'unit', 'value'],
    properties: {
      sensor: str('Sensor name', 'power'),
      unit: str('Unit', 'W'),
      value: { type: 'number', description: 'Value', example: 182.5 },
      time: { type: 'integer', format: 'int64', description: 'POSIX time in ns (seconds or ms are refused)' },
    },
  },
  {
    $id: 'measurementPost',
    type: 'object',
    required: ['environment', 'measurements'],
    properties: {
      environment: str('Environment (POD) name', 'pod1'),
      topology: { $ref: 'topology#' },
      measurements: { type: 'array', items: { $ref: 'measurement#' } },
      time: { type: 'integer', format: 'int64', description: 'Collect time in ns; selects the scenario running then' },
    },
  },
  {
    $id: 'recorderPost',
    type: 'object',
    required: ['scenario', 'step'],
    properties: { scenario: str('Scenario name', 'vping'), step: str('Step name', 'running') },
  },
  { $id: 'stepPost', type: 'object', required: ['step'], properties: { step: str('Step name', 'step1') } },
  {
    $id: 'runningScenario',
    type: 'object',
    properties: { environment: str('Environment'), scenario: str('Scenario'), step: str('Step') },
  },
  { $id: 'APIStatus', type: 'object', properties: { status: str('Status', 'OK') } },
  {
    $id: 'powerPost',
    type: 'object',
    required: ['power', 'environment'],
    properties: {
      power: { type: 'integer', description: 'Power in W' },
      time: { type: 'integer', format: 'int64', description: 'POSIX time in ns' },
      environment: str('Environment'),
    },
  },
  {
    $id: 'powerMeasurement',
    type: 'object',
    properties: { environment: str('Environment'), scenario: str('Scenario'), step: str('Step'), power: { type: 'number' } },
  },
  {
    $id: 'errorMessage',
    type: 'object',
    properties: { message: str('What went wrong') },
  },
  {
    $id: 'validationError',
    type: 'object',
    properties: {
      errors: { type: 'object', additionalProperties: { type: 'string' }, description: 'Reason per offending field' },
      message: str('Always "Input payload validation failed"'),
    },
  },
  {
    $id: 'sessionStep',
    type: 'object',
    properties: {
      step: str('Step'),
      startNs: { type: 'integer', format: 'int64' },
      endNs: { type: 'integer', format: 'int64', 'x-nullable': true },
    },
  },
  {
    $id: 'sessionParent',
    type: 'object',
    description: 'The session this one ran inside (absent for a top-level session): its scenario and start',
    properties: { scenario: str('Scenario of the enclosing session'), startNs: { type: 'integer', format: 'int64' } },
  },
  {
    $id: 'sessionList',
    type: 'object',
    properties: {
      environment: str('Environment'),
      sessions: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            scenario: str('Scenario'),
            startNs: { type: 'integer', format: 'int64' },
            endNs: { type: 'integer', format: 'int64', 'x-nullable': true },
            running: { type: 'boolean' },
            steps: { type: 'array', items: { $ref: 'sessionStep#' } },
            parent: { $ref: 'sessionParent#' },
          },
        },
      },
    },
  },
  {
    $id: 'equipmentEnergy',
    type: 'object',
    properties: Object.fromEntries(
      ['energyJoules', 'energyWh', 'avgWatts', 'maxWatts', 'minWatts', 'durationS', 'coveragePct', 'longestGapS']
        .map((k) => [k, { type: 'number' }] as [string, object])
        .concat([
          ['equipment', { type: 'string' }],
          ['sampleCount', { type: 'integer' }],
          ['gapCount', { type: 'integer' }],
        ]),
    ),
  },
  {
    $id: 'sessionReport',
    type: 'object',
    properties: {
      environment: str('Environment'),
      scenario: str('Scenario'),
      startNs: { type: 'integer', format: 'int64' },
      endNs: { type: 'integer', format: 'int64', 'x-nullable': true },
      running: { type: 'boolean' },
      totals: {
        type: 'object',
        properties: { energyJoules: { type: 'number' }, energyWh: { type: 'number' }, durationS: { type: 'number' } },
      },
      steps: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            step: str('Step'),
            startNs: { type: 'integer', format: 'int64' },
            endNs: { type: 'integer', format: 'int64', 'x-nullable': true },
            energyJoules: { type: 'number' },
            energyWh: { type: 'number' },
            equipments: { type: 'array', items: { $ref: 'equipmentEnergy#' } },
          },
        },
      },
      equipments: { type: 'array', items: { $ref: 'equipmentEnergy#' } },
      parent: { $ref: 'sessionParent#' },
    },
  },
] as const;
