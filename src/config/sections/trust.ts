/** `trust`: the operator keys whose signatures carry cluster-wide authority. */
import * as D from '../defaults.js'
import { field, list, text } from '../fields.js'

/** An operator id: the Ed25519 peer id string `riftmesh keygen --operator` prints. */
const operatorId = text(/^[A-Za-z0-9]{1,128}$/, 'an operator id (as printed by riftmesh keygen --operator)', 128)

export const trustFields = {
  operators: field(list(operatorId.schema, 'operator ids', 64), D.DEFAULT_OPERATORS,
    'The trust root: operator ids whose signatures change cluster settings, operator keys and revocations. Empty: no setting can be changed.')
}
