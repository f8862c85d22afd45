<#
.SYNOPSIS
    Tries a change on a copy-on-write branch of a mounted branching image: branch, check, then commit or abort.

.DESCRIPTION
    Creates a child branch of a mounted branch (New-DaxFsBranch) and mounts it, runs an operator's check against the
    branch mount (a script block, or a native command run in that folder), and then decides: when the check passes the
    branch is committed into main (Complete-DaxFsBranch), otherwise it is aborted (Undo-DaxFsBranch) and main is left
    as it was. The check may change files in the branch mount first (install a package into a root file system, patch
    a configuration) and then test the result; what it changed is listed with Compare-DaxFsBranch, read from the
    mount's memory while the branch is still active. Last, the branch mount is dismounted and a mount point this
    runbook made is removed.

    A check passes when the script block throws nothing and its last output is not $false, or when the command exits
    with status 0. When the commit itself fails (the kernel refuses it, say a parent's delta log is full), the branch
    is aborted instead and the report says why. A commit invalidates every sibling branch of the chain (their mounts
    answer ESTALE), and a main mounted before the commit shows it only when mounted again (the kernel's behaviour, see
    about_DaxFs).

    Returns one report; Status Committed, Aborted or Failed (the branch could not be created, or neither commit nor
    abort went through). Failed also writes an error. Under -WhatIf nothing is created and nothing is returned.

    Needs root and the daxfs kernel module.

.PARAMETER Parent
    The mounted branch to branch from: its mount point or its DaxFsMount (Get-DaxFsMount, Mount-DaxFs,
    New-DaxFsBranch). main works, and so does any active child branch.

.PARAMETER Check
    A script block that gets the branch's mount point as its first argument. It passes when it throws nothing and its
    last output is not $false.

.PARAMETER Command
    A native command and its arguments, run in the branch's mount point (also in the DAXFS_BRANCH_MOUNT environment
    variable). It passes when it exits with status 0.

.PARAMETER Name
    The branch's name: 1 to 31 bytes, unique in the image. Default: trial-yyyyMMddHHmmss (UTC).

.PARAMETER MountPoint
    Where to mount the branch. Created when missing (and removed again at the end). Default: daxfs-trial-NAME in the
    temp folder.

.EXAMPLE
    ./Invoke-DaxFsBranchTrial.ps1 -Parent /mnt/rootfs -Check {
        param($Root)
        Set-Content "$Root/etc/motd" 'maintenance window 02:00'
        (Get-Content "$Root/etc/motd") -eq 'maintenance window 02:00'
    } -Confirm:$false

    Writes a file in a branch of the image mounted at /mnt/rootfs, checks it, and commits it into main.

.EXAMPLE
    Get-DaxFsMount /mnt/rootfs | ./Invoke-DaxFsBranchTrial.ps1 -Name upgrade -Command sh, -c, 'chroot . /usr/bin/selftest' -Confirm:$false |
        Format-List Status, Action, CheckPassed, Changes

    Runs a self-test inside the branch; a non-zero exit status aborts the branch and main stays as it was.

.EXAMPLE
    ./Invoke-DaxFsBranchTrial.ps1 -Parent /mnt/rootfs -Check { $true } -WhatIf

    Says which branch it would create, where it would mount it and what it would do; creates nothing.

.OUTPUTS
    DaxFs.Runbook.BranchTrialReport: Status, Branch, BranchPath, Parent, MountPoint, CheckPassed, CheckOutput,
    CheckError, Changes (DaxFs.DaxFsBranchChange objects), Action (Commit, Abort or None), Error.

.LINK
    New-DaxFsBranch

.LINK
    Compare-DaxFsBranch

.LINK
    Complete-DaxFsBranch

.LINK
    Undo-DaxFsBranch
#>
#Requires -Version 7.4
#Requires -Modules DaxFs
[CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High', DefaultParameterSetName = 'ScriptBlock')]
[OutputType('DaxFs.Runbook.BranchTrialReport')]
param(
    [Parameter(Mandatory, Position = 0, ValueFromPipeline)]
    [object] $Parent,

    [Parameter(Mandatory, ParameterSetName = 'ScriptBlock')]
    [scriptblock] $Check,

    [Parameter(Mandatory, ParameterSetName = 'Command')]
    [string[]] $Command,

    [ValidateLength(1, 31)]
    [string] $Name = ('trial-' + [DateTime]::UtcNow.ToString('yyyyMMddHHmmss')),

    [string] $MountPoint
)

process {
    Set-StrictMode -Version Latest

    # --- 1. The parent: a mounted branch of a branching image. Nothing changes before step 2. ---
    $parentPath = if ($Parent -is [DaxFs.DaxFsMount]) { $Parent.MountPoint } else { $PSCmdlet.GetUnresolvedProviderPathFromPSPath("$Parent").TrimEnd('/') }
    $parentMount = @(Get-DaxFsMount | Where-Object MountPoint -eq $parentPath)
    if ($parentMount.Count -eq 0) { throw "No daxfs mount at '$parentPath'. Mount the branching image first (Mount-DaxFs), or name a branch mount as -Parent." }
    $parentMount = $parentMount[-1]
    if ($parentMount.Static -or -not $parentMount.Branch) { throw "'$parentPath' holds a static image: it has no branches. Build a branching one with New-DaxFsImage -Branching." }
    if (-not $MountPoint) { $MountPoint = Join-Path ([IO.Path]::GetTempPath()) "daxfs-trial-$Name" }
    $MountPoint = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($MountPoint).TrimEnd('/')
    $checkText = if ($Check) { "the check script block" } else { "'$($Command -join ' ')' in the branch" }

    $report = [ordered]@{
        PSTypeName = 'DaxFs.Runbook.BranchTrialReport'; Status = ''; Branch = $Name; BranchPath = "$($parentMount.Branch.TrimEnd('/'))/$Name"
        Parent = $parentPath; MountPoint = $MountPoint; CheckPassed = $false; CheckOutput = @(); CheckError = $null; Changes = @(); Action = 'None'; Error = $null
    }
    $what = "Create branch '$($report.BranchPath)' at '$MountPoint', run $checkText, then commit it into main when the check passes or abort it when it fails"
    if (-not $PSCmdlet.ShouldProcess($parentPath, $what)) { return }

    # --- 2. The branch. ---
    $madeMountPoint = $false
    if (-not (Test-Path -LiteralPath $MountPoint)) {
        New-Item -ItemType Directory -Force -Path $MountPoint -Confirm:$false | Out-Null
        $madeMountPoint = $true
    }
    try {
        $branch = New-DaxFsBranch -Name $Name -Parent $parentMount -MountPoint $MountPoint -Confirm:$false -ErrorAction Stop
    }
    catch {
        if ($madeMountPoint) { Remove-Item -LiteralPath $MountPoint -Force -Confirm:$false -ErrorAction SilentlyContinue }
        $report.Status = 'Failed'
        $report.Error = "Creating branch '$Name' failed: $_"
        [pscustomobject]$report
        Write-Error -Message $report.Error -Category InvalidOperation -ErrorId 'BranchTrialCreateFailed' -TargetObject $parentPath
        return
    }

    try {
        # --- 3. The check, against the branch mount. ---
        try {
            if ($Check) {
                $out = @(& $Check $branch.MountPoint)
                $report.CheckOutput = $out
                $report.CheckPassed = -not ($out.Count -gt 0 -and $out[-1] -is [bool] -and -not $out[-1])
                if (-not $report.CheckPassed) { $report.CheckError = 'The check returned $false.' }
            }
            else {
                $env:DAXFS_BRANCH_MOUNT = $branch.MountPoint
                Push-Location -LiteralPath $branch.MountPoint
                try {
                    $exe = $Command[0]; $rest = @($Command | Select-Object -Skip 1)
                    $report.CheckOutput = @(& $exe @rest 2>&1 | ForEach-Object { "$_" })
                    $code = $LASTEXITCODE
                }
                finally { Pop-Location; Remove-Item Env:DAXFS_BRANCH_MOUNT -ErrorAction SilentlyContinue }
                $report.CheckPassed = $code -eq 0
                if (-not $report.CheckPassed) { $report.CheckError = "'$($Command -join ' ')' exited with status $code." }
            }
        }
        catch {
            $report.CheckPassed = $false
            $report.CheckError = "$_"
        }

        # --- 4. What the branch changed, from the memory, while it is still active. ---
        try { $report.Changes = @(Compare-DaxFsBranch -Image $branch -Branch $Name -ErrorAction Stop) }
        catch { Write-Warning "The changes of branch '$Name' could not be listed: $_" }

        # --- 5. Commit or abort. A failed commit is aborted. ---
        if ($report.CheckPassed) {
            try {
                Complete-DaxFsBranch -MountPoint $branch.MountPoint -Confirm:$false -ErrorAction Stop | Out-Null
                $report.Action = 'Commit'
                $report.Status = 'Committed'
            }
            catch { $report.Error = "The commit of '$Name' failed, so it is aborted instead: $_" }
        }
        if ($report.Action -eq 'None') {
            try {
                Undo-DaxFsBranch -MountPoint $branch.MountPoint -Confirm:$false -ErrorAction Stop | Out-Null
                $report.Action = 'Abort'
                $report.Status = if ($report.Error) { 'Failed' } else { 'Aborted' }
            }
            catch {
                $report.Status = 'Failed'
                $report.Error = "$($report.Error) The abort of '$Name' failed too: $_ Dismounting the branch discards it.".Trim()
            }
        }
    }
    finally {
        # --- 6. The branch mount goes (it shows main after a commit or abort; an unmount discards an active branch). ---
        try { Dismount-DaxFs -MountPoint $branch.MountPoint -Confirm:$false -ErrorAction Stop }
        catch { Write-Warning "Dismounting '$($branch.MountPoint)' failed: $_" }
        if ($madeMountPoint) { Remove-Item -LiteralPath $MountPoint -Force -Confirm:$false -ErrorAction SilentlyContinue }
    }
    [pscustomobject]$report
    if ($report.Status -eq 'Failed') {
        Write-Error -Message "Branch trial '$Name' on '$parentPath' failed: $($report.Error)" -Category InvalidOperation -ErrorId 'BranchTrialFailed' -TargetObject $parentPath
    }
}
