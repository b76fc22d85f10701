export { APP_ERROR_STATUS, AppError, type AppErrorCode, type AppErrorOptions } from './app-error';
export { classifyProviderError, type ProviderFailure, type ProviderFailureKind, toAppError } from './classify-provider-error';
