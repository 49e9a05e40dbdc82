// jwt-decode: claims and header of a token.
import { jwtDecode } from 'jwt-decode';

export const claims = (token) => ({ payload: jwtDecode(token), header: jwtDecode(token, { header: true }) });
