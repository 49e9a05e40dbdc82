// The TokenKeeper API; the module is initialised on import.
export * from './keeper.js';
