// jose: decodeJwt and decodeProtectedHeader.
import { decodeJwt, decodeProtectedHeader } from 'jose';

export const claims = (token) => ({ payload: decodeJwt(token), header: decodeProtectedHeader(token) });
