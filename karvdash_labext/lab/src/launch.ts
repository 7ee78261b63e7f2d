// The launch form of a template, in a JupyterLab dialog: one field per variable (text,
// whole number, checkbox, or a choice), its default filled in and its help below it.
// Launch posts the values; an error about a variable (`where`: variables.NAME) appears
// at that field, any other above the form, and the dialog stays open until a launch
// succeeds or the user cancels.

import { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import {
  ILaunched,
  ITemplate,
  IVariable,
  KarvdashClient,
  KarvdashError,
  VariableValue
} from './api';
import { fill, h } from './dom';

let forms = 0;

type Input = HTMLInputElement | HTMLSelectElement;

/** The form's fields: the dialog's body. */
export class LaunchForm extends Widget implements Dialog.IBodyWidget<ILaunched | null> {
  readonly template: ITemplate;
  /** The service, once launched. */
  launched: ILaunched | null = null;
  private readonly inputs = new Map<string, Input>();
  private readonly errors = new Map<string, HTMLElement>();
  private readonly formError: HTMLElement;

  constructor(template: ITemplate) {
    super();
    this.template = template;
    const id = `kd-form-${++forms}`;
    this.addClass('kd-launch-form');
    this.node.dataset.template = template.id;
    this.formError = h('div', { class: 'kd-form-error', role: 'alert', hidden: true });
    const fields = template.variables.map(v => this.field(v, `${id}-${v.name}`));
    fill(
      this.node,
      template.description
        ? h('p', { class: 'kd-form-description', text: template.description })
        : null,
      this.formError,
      ...fields
    );
  }

  getValue(): ILaunched | null {
    return this.launched;
  }

  /** The values as the API takes them (whole numbers as numbers when they are). */
  values(): Record<string, VariableValue> {
    const out: Record<string, VariableValue> = {};
    for (const variable of this.template.variables) {
      const input = this.inputs.get(variable.name)!;
      if (input instanceof HTMLInputElement && input.type === 'checkbox') {
        out[variable.name] = input.checked;
      } else if (variable.type === 'integer' && /^-?[0-9]{1,15}$/.test(input.value.trim())) {
        out[variable.name] = Number(input.value.trim());
      } else {
        out[variable.name] = input.value;
      }
    }
    return out;
  }

  clearErrors(): void {
    this.formError.hidden = true;
    fill(this.formError);
    for (const [name, node] of this.errors) {
      node.hidden = true;
      fill(node);
      const input = this.inputs.get(name)!;
      input.removeAttribute('aria-invalid');
      input.closest('.kd-field')?.classList.remove('kd-mod-invalid');
    }
  }

  /** Show an error at the field it is about, else above the fields. */
  showError(err: KarvdashError): void {
    const variable = err.variable;
    const input = variable ? this.inputs.get(variable) : undefined;
    const at = variable ? this.errors.get(variable) : undefined;
    if (input && at) {
      fill(at, err.message);
      at.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.closest('.kd-field')?.classList.add('kd-mod-invalid');
      input.focus();
      return;
    }
    fill(
      this.formError,
      h('strong', { text: 'The service was not launched: ' }),
      err.message,
      err.violations.length ? h('ul', {}, ...err.violations.map(v => h('li', { text: v }))) : null
    );
    this.formError.hidden = false;
  }

  private field(variable: IVariable, id: string): HTMLElement {
    const helpId = `${id}-help`;
    const errorId = `${id}-error`;
    const described = [variable.help ? helpId : '', errorId].filter(Boolean).join(' ');
    let input: Input;
    let label: HTMLElement;
    if (variable.choices && variable.choices.length) {
      input = h(
        'select',
        { id, class: 'jp-mod-styled kd-input', name: variable.name },
        ...variable.choices.map(choice =>
          h('option', {
            value: choice,
            text: choice,
            selected: choice === String(variable.default)
          })
        )
      );
      label = h('label', { for: id, class: 'kd-field-label', text: variable.name });
    } else if (variable.type === 'boolean') {
      input = h('input', { id, type: 'checkbox', class: 'kd-checkbox', name: variable.name });
      input.checked = variable.default === true || String(variable.default) === 'true';
      label = h(
        'label',
        { for: id, class: 'kd-field-label kd-checkbox-label' },
        input,
        variable.name
      );
    } else {
      input = h('input', {
        id,
        class: 'jp-mod-styled kd-input',
        name: variable.name,
        type: variable.type === 'integer' ? 'number' : 'text',
        step: variable.type === 'integer' ? 1 : null,
        spellcheck: variable.type === 'string' ? 'false' : null,
        autocomplete: 'off'
      });
      input.value = String(variable.default);
      label = h('label', { for: id, class: 'kd-field-label', text: variable.name });
    }
    input.setAttribute('aria-describedby', described);
    input.dataset.variable = variable.name;
    const error = h('div', { id: errorId, class: 'kd-field-error', hidden: true });
    this.inputs.set(variable.name, input);
    this.errors.set(variable.name, error);
    return h(
      'div',
      { class: 'kd-field', 'data-variable': variable.name, 'data-type': variable.type },
      label,
      input === label.firstChild ? null : input,
      variable.help ? h('div', { id: helpId, class: 'kd-field-help', text: variable.help }) : null,
      error
    );
  }
}

/**
 * The dialog: Launch posts and keeps the dialog open on an error; the dialog resolves
 * (with the launched service as its value) only once the launch succeeded.
 */
class LaunchDialog extends Dialog<ILaunched | null> {
  private readonly form: LaunchForm;
  private readonly client: KarvdashClient;
  private busy = false;

  constructor(client: KarvdashClient, form: LaunchForm) {
    super({
      title: `Launch ${form.template.name}`,
      body: form,
      buttons: [
        Dialog.cancelButton(),
        Dialog.okButton({ label: 'Launch', caption: `Launch a ${form.template.name} service` })
      ],
      focusNodeSelector: 'input, select',
      hasClose: true
    });
    this.client = client;
    this.form = form;
    this.addClass('kd-launch-dialog');
  }

  override resolve(index?: number): void {
    const accept = index === undefined || index === 1;
    if (!accept || this.form.launched) {
      super.resolve(index);
      return;
    }
    void this.submit();
  }

  private async submit(): Promise<void> {
    if (this.busy) {
      return;
    }
    this.busy = true;
    this.form.clearErrors();
    const buttons = Array.from(this.node.querySelectorAll<HTMLButtonElement>('.jp-Dialog-button'));
    const launch = buttons[buttons.length - 1];
    const label = launch?.querySelector('.jp-Dialog-buttonLabel');
    buttons.forEach(b => (b.disabled = true));
    if (label) {
      label.textContent = 'Launching…';
    }
    this.node.setAttribute('aria-busy', 'true');
    try {
      this.form.launched = await this.client.launch(this.form.template.id, this.form.values());
    } catch (err) {
      this.form.showError(
        err instanceof KarvdashError ? err : new KarvdashError(0, 'error', String(err))
      );
    } finally {
      this.busy = false;
      this.node.removeAttribute('aria-busy');
      buttons.forEach(b => (b.disabled = false));
      if (label) {
        label.textContent = 'Launch';
      }
    }
    if (this.form.launched) {
      super.resolve(1);
    }
  }
}

/** Show the launch form of `template`: the launched service, or null when cancelled. */
export async function launchForm(
  client: KarvdashClient,
  template: ITemplate
): Promise<ILaunched | null> {
  const dialog = new LaunchDialog(client, new LaunchForm(template));
  const result = await dialog.launch();
  return result.button.accept ? result.value : null;
}
