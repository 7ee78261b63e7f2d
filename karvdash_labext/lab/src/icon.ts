import { LabIcon } from '@jupyterlab/ui-components';

import svgstr from '../style/icons/karvdash.svg';

/** Karvdash's layers, in the theme's icon colour. */
export const karvdashIcon = new LabIcon({ name: 'karvdash-labext:karvdash', svgstr });
