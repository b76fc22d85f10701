export { composeExtractiveAnswer, createLocalExtractiveModel, estimateTokens, LOCAL_EXTRACTIVE_ID } from './local-extractive-model';
export { type AliasServing, createModelCatalog, type ModelCatalog, type ModelCatalogOptions, type ResolvedModel } from './model-catalog';
export { createModelConnections, type ModelConnection } from './model-connections';
